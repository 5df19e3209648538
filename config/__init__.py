"""Project package: settings, URL map, the single NinjaAPI, Celery app and the CLI."""

from config.celery import app as celery_app

__all__ = ["celery_app"]
