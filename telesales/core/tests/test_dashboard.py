def test_figures_are_grouped_with_the_decimals_they_have():
    from decimal import Decimal

    from telesales.core.formatting import figure

    assert figure(Decimal("713120.00")) == "713,120.00"
    assert figure(1089) == "1,089"
    assert figure(72) == "72"
    assert figure(Decimal("11.2")) == "11.2"
    assert figure(Decimal("9904")) == "9,904"
    assert figure(Decimal("-1234.5")) == "-1,234.5"
    assert figure(True) == "True" and figure(None) == "" and figure("x") == "x"
