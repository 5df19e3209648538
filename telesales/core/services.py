"""Writes with no domain: API tokens and user settings."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from telesales.core.audit import audit_record
from telesales.core.errors import NotFound, ValidationFailed
from telesales.core.models import ApiToken, UserSettings

TOKEN_PREFIX = "tsk_"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def token_create(*, user, actor, name: str = "", days: int | None = None) -> tuple[ApiToken, str]:
    """Issue a bearer token for ``user``. Returns the token row and the secret, shown once."""
    if not user.is_active:
        raise ValidationFailed(
            _("Inactive users cannot receive tokens"), fields={"user": [_("inactive")]}
        )
    days = settings.TELESALES_API_TOKEN_DAYS if days is None else days
    if days < 1 or days > 3650:
        raise ValidationFailed(_("Token lifetime out of range"), fields={"days": [_("1 to 3650")]})
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name[:100],
        prefix=secret[:12],
        key_hash=_hash(secret),
        expires_at=timezone.now() + timedelta(days=days),
    )
    audit_record(
        actor=actor,
        action="core.token_create",
        instance=token,
        object_repr=f"token {token.prefix}… for {user.get_username()}",
        after={"user": user.pk, "name": token.name, "expires_at": token.expires_at},
    )
    return token, secret


def token_authenticate(*, secret: str):
    """The active user a bearer secret belongs to, or None."""
    if not secret or not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=_hash(secret), revoked_at__isnull=True)
        .first()
    )
    now = timezone.now()
    if token is None or not token.user.is_active:
        return None
    if token.expires_at and token.expires_at <= now:
        return None
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def token_hash(secret: str) -> str:
    """What is stored of a secret, to find its token again."""
    return _hash(secret)


def _may_revoke(actor, token: ApiToken) -> bool:
    """A token's own user, or a superuser (a lost phone, a leaver's integration)."""
    if actor is None:  # the command line
        return True
    return token.user_id == actor.pk or bool(getattr(actor, "is_superuser", False))


@transaction.atomic
def token_revoke(*, token_id: int, actor) -> ApiToken:
    """Revoke a token at once: every later request with it is refused. Someone else's token
    is "no such token" (its existence is not told). Revoking a revoked token changes
    nothing and records nothing."""
    token = ApiToken.objects.select_for_update().filter(pk=token_id).first()
    if token is None or not _may_revoke(actor, token):
        raise NotFound(_("No such token"))
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(
            actor=actor,
            action="core.token_revoke",
            instance=token,
            object_repr=f"token {token.prefix}… for {token.user.get_username()}",
        )
    return token


def token_revoke_secret(*, secret: str, actor) -> ApiToken:
    """Revoke the token of ``secret`` (a client signing out with the token it holds)."""
    token = ApiToken.objects.filter(key_hash=_hash(secret or "")).only("pk").first()
    if token is None:
        raise NotFound(_("No such token"))
    return token_revoke(token_id=token.pk, actor=actor)


@transaction.atomic
def user_language_set(*, user, language: str) -> UserSettings:
    codes = [code for code, _name in settings.LANGUAGES]
    if language not in codes:
        raise ValidationFailed(
            _("Unknown language"),
            fields={"language": [_("choose one of %(codes)s") % {"codes": ", ".join(codes)}]},
        )
    prefs, _created = UserSettings.objects.get_or_create(user=user, defaults={"language": language})
    before = prefs.language
    if before != language:
        prefs.language = language
        prefs.save(update_fields=["language"])
    audit_record(
        actor=user,
        action="core.language_set",
        instance=prefs,
        before={"language": before},
        after={"language": language},
    )
    return prefs


def user_by_username(username: str):
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise NotFound(_("No user named %(username)s") % {"username": repr(username)})
    return user
