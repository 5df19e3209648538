"""The ``telesales`` command.

``telesales NAME …`` runs the management command NAME; hyphens in NAME become underscores, so
``telesales seed-demo`` runs ``seed_demo``. Configuration problems are reported by variable
and problem, never as a traceback.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None, prog: str = "telesales") -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    if argv and not argv[0].startswith("-"):
        argv[0] = argv[0].replace("-", "_")

    from config.environment import read_environment

    env = read_environment()
    if env.problems:
        if argv and argv[0] == "doctor":
            from telesales.core.doctor import print_report

            return print_report(env_problems=env.problems)
        for problem in env.problems:
            print(f"telesales: configuration error: {problem}", file=sys.stderr)
        print("telesales: run 'telesales doctor' for a full check.", file=sys.stderr)
        return 2

    from django.core.management import execute_from_command_line
    from django.db.utils import OperationalError

    try:
        execute_from_command_line([prog, *argv])
    except KeyboardInterrupt:
        return 130
    except OperationalError as exc:
        variable = "DATABASE_URL" if env.database_engine == "postgresql" else "TELESALES_DATA_DIR"
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"telesales: database error ({variable}): {first_line}", file=sys.stderr)
        print("telesales: run 'telesales doctor' for a full check.", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
