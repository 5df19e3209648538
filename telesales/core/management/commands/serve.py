"""``telesales serve``: gunicorn (DEBUG off, WhiteNoise static files) plus the Celery worker.

The worker (with the periodic scheduler embedded) uses the embedded broker in the data
directory unless CELERY_BROKER_URL names Redis. If either process stops, both stop.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


def _port(value: str | None) -> int:
    raw = value or os.environ.get("PORT") or "8000"
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise CommandError(f"port '{raw}' is not a number from 1 to 65535 (--port or PORT)")
    return int(raw)


class Command(BaseCommand):
    help = "Run the web server and the background worker on 127.0.0.1."

    def add_arguments(self, parser):
        parser.add_argument("--port", default=None, help="Port (default: $PORT, else 8000).")
        parser.add_argument("--host", default=os.environ.get("TELESALES_HOST", "127.0.0.1"))
        parser.add_argument("--workers", type=int, default=settings.WEB_CONCURRENCY)
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="Do not start the Celery worker (run it separately).",
        )

    def handle(self, *args, **options):
        if settings.DEBUG:
            raise CommandError("TELESALES_DEBUG is on; 'serve' is the production server, unset it")
        port = _port(options["port"])
        if not 1 <= options["workers"] <= 64:
            raise CommandError("--workers must be 1 to 64")
        call_command("collectstatic", interactive=False, verbosity=0)
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": os.environ.get(
                "DJANGO_SETTINGS_MODULE", "config.settings.base"
            ),
        }
        procs: list[subprocess.Popen] = []
        web = [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"{options['host']}:{port}",
            "--workers",
            str(options["workers"]),
            "--access-logfile",
            "-",
            "--graceful-timeout",
            "10",
        ]
        procs.append(subprocess.Popen(web, env=env))
        if not options["no_worker"]:
            worker = [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--beat",
                "--loglevel",
                "INFO",
                "--concurrency",
                "1",
                "--schedule",
                str(settings.CELERY_BEAT_SCHEDULE_FILENAME),
            ]
            procs.append(subprocess.Popen(worker, env=env))
        self.stdout.write(
            self.style.SUCCESS(f"Serving on http://{options['host']}:{port}/ (Ctrl+C to stop)")
        )
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        code = 0
        try:
            while not stopping:
                for proc in procs:
                    if proc.poll() is not None:
                        code = proc.returncode or 1
                        self.stderr.write(
                            f"{proc.args[2]} stopped (exit {proc.returncode}); stopping the rest"
                        )
                        stopping = True
                time.sleep(0.5)
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.terminate()
            for proc in procs:
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
        if code:
            sys.exit(code)
