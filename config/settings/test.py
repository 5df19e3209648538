"""Test settings: the same as base, faster hashing, tasks run in-process unless a test says so."""

from config.settings.base import *  # noqa: F403
from config.settings.base import DATABASES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The test database lives in memory; the IMMEDIATE mode and pragmas still apply.
    DATABASES["default"]["TEST"] = {"NAME": ":memory:"}

# An audit action without a label (core.audit.register_action_labels) fails the test that
# records it.
TELESALES_AUDIT_LABELS_REQUIRED = True
