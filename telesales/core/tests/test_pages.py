"""The helpers every app's pages share."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.test import RequestFactory

from telesales.core import errors
from telesales.core.actors import is_user, user_or_none
from telesales.core.pages import get_or_404, page_of, require


def _raise(exc):
    raise exc


def test_require_refuses_with_403_and_lets_through():
    require(True)
    with pytest.raises(PermissionDenied):
        require(False)


def test_get_or_404_answers_a_domain_not_found_as_404_and_refusal_as_403():
    assert get_or_404(lambda **kw: kw, pk=3) == {"pk": 3}
    with pytest.raises(Http404, match="no such lead"):
        get_or_404(lambda: _raise(errors.NotFound("no such lead")))
    with pytest.raises(PermissionDenied, match="not your team"):
        get_or_404(lambda: _raise(errors.PermissionDenied("not your team")))


@pytest.mark.parametrize(("asked", "shown"), [("", 1), ("2", 2), ("x", 1), ("99", 3)])
def test_page_of_reads_the_page_asked_for(asked, shown):
    request = RequestFactory().get("/", {"page": asked} if asked else {})
    page = page_of(request, list(range(120)))
    assert page.number == shown
    assert len(page.object_list) == (20 if shown == 3 else 50)


def test_only_a_signed_in_user_is_a_user():
    class Signed:
        is_authenticated = True

    class Anonymous:
        is_authenticated = False

    signed = Signed()
    assert is_user(signed) and user_or_none(signed) is signed
    for actor in (None, "system", Anonymous()):
        assert not is_user(actor)
        assert user_or_none(actor) is None


def test_deny_unless_raises_the_domain_refusal_with_its_message():
    errors.deny_unless(True, "unused")
    with pytest.raises(errors.PermissionDenied, match="Only renewal operations") as caught:
        errors.deny_unless(False, "Only renewal operations may do this")
    assert caught.value.status == 403
