"""The helpers every service uses to change models, and the domain error family."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from hypothesis import given
from hypothesis import strategies as st

from telesales.core.errors import (
    AuthenticationFailed,
    Conflict,
    DomainError,
    InvalidState,
    LockedOut,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from telesales.core.model_updates import apply_changes, save_or_conflict, validate_instance
from telesales.core.models import ApiToken, UserSettings
from telesales.core.tests.factories import UserFactory

User = get_user_model()
TEXT_FIELDS = ["username", "first_name", "last_name", "email"]
ALLOWED = {*TEXT_FIELDS, "is_active", "is_staff"}

_values = {
    "username": st.text(max_size=20),
    "first_name": st.text(max_size=20),
    "last_name": st.text(max_size=20),
    "email": st.text(max_size=20),
    "is_active": st.booleans(),
    "is_staff": st.booleans(),
}


def _fresh() -> User:
    return User(username="u", first_name="A", last_name="B", email="", is_active=True)


@given(changes=st.fixed_dictionaries({}, optional=_values))
def test_apply_changes_sets_exactly_the_differing_fields(changes):
    user = _fresh()
    before = {name: getattr(user, name) for name in ALLOWED}
    changed = apply_changes(user, changes, allowed=ALLOWED)
    assert set(changed) == {k for k, v in changes.items() if before[k] != v}
    assert len(changed) == len(set(changed))
    for name in ALLOWED:
        expected = changes.get(name, before[name])
        assert getattr(user, name) == expected
    # Applying the same changes again changes nothing.
    assert apply_changes(user, changes, allowed=ALLOWED) == []


@given(
    changes=st.fixed_dictionaries({}, optional=_values),
    unknown=st.sets(
        st.text(min_size=1, max_size=10).filter(lambda s: s not in ALLOWED), min_size=1
    ),
)
def test_apply_changes_rejects_unknown_fields_and_changes_nothing(changes, unknown):
    user = _fresh()
    before = {name: getattr(user, name) for name in ALLOWED}
    data = {**changes, **dict.fromkeys(unknown, "x")}
    with pytest.raises(ValidationFailed) as exc:
        apply_changes(user, data, allowed=ALLOWED)
    assert set(exc.value.fields) == unknown
    assert {name: getattr(user, name) for name in ALLOWED} == before


def test_apply_changes_rejects_fields_outside_the_allowed_set_even_if_real():
    user = _fresh()
    with pytest.raises(ValidationFailed) as exc:
        apply_changes(user, {"is_superuser": True, "password": "x"}, allowed=ALLOWED)
    assert set(exc.value.fields) == {"is_superuser", "password"}
    assert user.is_superuser is False


@pytest.mark.django_db
def test_apply_changes_compares_foreign_keys_by_id():
    owner, other = UserFactory(), UserFactory()
    token = ApiToken(user=owner, prefix="p", key_hash="h")
    assert apply_changes(token, {"user": owner}, allowed={"user"}) == []
    assert apply_changes(token, {"user": User.objects.get(pk=owner.pk)}, allowed={"user"}) == []
    assert apply_changes(token, {"user": other}, allowed={"user"}) == ["user"]
    assert token.user_id == other.pk


@pytest.mark.django_db
def test_validate_instance_maps_model_errors_to_fields():
    UserFactory(username="taken")
    with pytest.raises(ValidationFailed) as exc:
        validate_instance(User(username="taken", password="x", email="not-an-email"))
    assert {"username", "email"} <= set(exc.value.fields)
    assert exc.value.status == 422
    assert exc.value.details == {"fields": exc.value.fields}
    with pytest.raises(ValidationFailed) as exc:
        validate_instance(UserSettings(user=UserFactory(), language="klingon"))
    assert "language" in exc.value.fields
    validate_instance(User(username="free", password="x"))


@pytest.mark.django_db
def test_save_or_conflict_turns_database_refusals_into_conflict():
    UserFactory(username="taken")
    with pytest.raises(Conflict) as exc:
        save_or_conflict(User(username="taken", password="x"))
    assert exc.value.status == 409 and exc.value.code == "conflict"
    # The failed save did not break the surrounding transaction.
    assert User.objects.filter(username="taken").count() == 1
    save_or_conflict(Group(name="a new group"))
    assert Group.objects.filter(name="a new group").exists()


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (NotFound, 404, "not_found"),
        (PermissionDenied, 403, "permission_denied"),
        (Conflict, 409, "conflict"),
        (InvalidState, 409, "invalid_state"),
        (ValidationFailed, 422, "validation_failed"),
        (AuthenticationFailed, 401, "authentication_failed"),
        (LockedOut, 429, "locked_out"),
    ],
)
def test_domain_errors_have_stable_codes_and_4xx_statuses(error, status, code):
    exc = error("something is wrong")
    assert isinstance(exc, DomainError)
    assert exc.status == status and exc.code == code
    assert exc.as_dict()["code"] == code and exc.as_dict()["message"] == "something is wrong"
    assert 400 <= exc.status < 500
    assert set(exc.as_dict()) == {"code", "message", "details"}


def test_validation_failed_carries_field_messages_as_text():
    exc = ValidationFailed(fields={"name": ["too long", 5]})
    assert exc.fields == {"name": ["too long", "5"]}
    assert exc.as_dict()["details"] == {"fields": {"name": ["too long", "5"]}}
    assert exc.message
    assert DomainError().message == "domain_error"
