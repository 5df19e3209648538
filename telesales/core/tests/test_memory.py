"""``without_cyclic_gc``: the collector is off inside the block and back as it was after,
however the block ends."""

import gc

import pytest

from telesales.core.memory import without_cyclic_gc


def test_the_collector_is_paused_inside_and_back_on_after_an_error():
    assert gc.isenabled()
    with pytest.raises(ZeroDivisionError), without_cyclic_gc():
        assert not gc.isenabled()
        _ = 1 / 0
    assert gc.isenabled()


def test_a_collector_already_off_stays_off():
    gc.disable()
    try:
        with without_cyclic_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
