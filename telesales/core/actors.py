"""Who did it: services take an ``actor`` that is a signed-in user, or ``None`` / a name such
as ``"system"`` for a command, a task or a hook. These say which."""

from __future__ import annotations


def is_user(actor) -> bool:
    """The actor is a signed-in user (not the system, not anonymous)."""
    return bool(getattr(actor, "is_authenticated", False))


def user_or_none(actor):
    """The actor when it is a user, else ``None``: what a ``created_by``-style foreign key
    records."""
    return actor if is_user(actor) else None
