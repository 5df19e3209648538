"""Read and validate the environment before Django starts.

Everything a user can get wrong in the environment is checked here, so that both startup and
``telesales doctor`` can name the variable and the problem instead of showing a traceback.
This module imports nothing from Django so that it can run when Django cannot start.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

POSTGRES_SCHEMES = {"postgres", "postgresql", "pgsql", "postgis"}
SQLITE_SCHEMES = {"sqlite"}


class EnvironmentProblem(Exception):
    """One misconfigured variable: which one and what is wrong with it."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


@dataclass
class Environment:
    """The validated environment, plus every problem found while reading it."""

    data_dir: Path
    database_url: str | None
    secret_key: str | None
    broker_url: str | None
    time_zone: str = "Asia/Shanghai"
    numbers: dict[str, int] = field(default_factory=dict)
    reveal_roles: list[str] = field(default_factory=list)
    problems: list[EnvironmentProblem] = field(default_factory=list)

    @property
    def database_engine(self) -> str:
        if not self.database_url:
            return "sqlite"
        scheme = urlsplit(self.database_url).scheme.lower()
        return "postgresql" if scheme in POSTGRES_SCHEMES else "sqlite"


def _check_data_dir(raw: str) -> tuple[Path, EnvironmentProblem | None]:
    path = Path(raw).expanduser()
    if not path.is_absolute():
        path = Path.cwd() / path
    path = path.resolve()
    if path.exists() and not path.is_dir():
        return path, EnvironmentProblem(
            "TELESALES_DATA_DIR", f"{path} exists and is not a directory"
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return path, EnvironmentProblem(
            "TELESALES_DATA_DIR", f"cannot create {path}: {exc.strerror or exc}"
        )
    probe = path / f".write-probe-{os.getpid()}"
    try:
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        return path, EnvironmentProblem(
            "TELESALES_DATA_DIR", f"{path} is not writable: {exc.strerror or exc}"
        )
    return path, None


def check_database_url(url: str) -> EnvironmentProblem | None:
    """Say what is wrong with a DATABASE_URL, or None when it is usable."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if not scheme:
        return EnvironmentProblem(
            "DATABASE_URL",
            "has no scheme; expected postgresql://user:password@host:5432/name "
            "(or leave it unset for the embedded SQLite database)",
        )
    if scheme in SQLITE_SCHEMES:
        return None
    if scheme not in POSTGRES_SCHEMES:
        return EnvironmentProblem(
            "DATABASE_URL",
            f"unsupported database '{scheme}'; use postgresql://… or leave it unset for SQLite",
        )
    if not parts.hostname and not parts.path.strip("/"):
        return EnvironmentProblem("DATABASE_URL", "names neither a host nor a database")
    try:
        port = parts.port
    except ValueError:
        return EnvironmentProblem("DATABASE_URL", "has a port that is not a number")
    if port is not None and not 0 < port < 65536:
        return EnvironmentProblem("DATABASE_URL", f"port {port} is out of range")
    if not parts.path.strip("/"):
        return EnvironmentProblem("DATABASE_URL", "names no database (…/DATABASE_NAME at the end)")
    return None


def _secret_key(data_dir: Path) -> tuple[str | None, EnvironmentProblem | None]:
    key = os.environ.get("SECRET_KEY", "").strip()
    if key:
        if len(key) < 32:
            return None, EnvironmentProblem("SECRET_KEY", "is shorter than 32 characters")
        return key, None
    path = data_dir / "secret_key"
    try:
        if path.exists():
            key = path.read_text().strip()
            if len(key) >= 32:
                return key, None
        key = secrets.token_urlsafe(50)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key)
        return key, None
    except OSError as exc:
        return None, EnvironmentProblem(
            "SECRET_KEY", f"not set, and {path} cannot be read or written: {exc.strerror or exc}"
        )


# Whole-number settings: variable -> (default, minimum, maximum)
NUMBER_VARIABLES = {
    "TELESALES_LOGIN_FAILURE_LIMIT": (5, 1, 100),
    "TELESALES_LOGIN_COOLOFF_MINUTES": (15, 1, 7 * 24 * 60),
    "TELESALES_API_TOKEN_DAYS": (90, 1, 3650),
    "WEB_CONCURRENCY": (2, 1, 64),
    "TELESALES_IMPORT_MAX_BYTES": (200 * 1024 * 1024, 1024, 20 * 1024**3),
    "TELESALES_EXPORT_MAX_ROWS": (50_000, 1, 5_000_000),
    "TELESALES_IMPORT_FILE_DAYS": (30, 0, 3650),
    "TELESALES_IMPORT_QUEUE_MINUTES": (10, 1, 24 * 60),
    "TELESALES_PAYRUN_STALE_MINUTES": (30, 5, 24 * 60),
    "TELESALES_TICKET_DUPLICATE_MINUTES": (10, 0, 24 * 60),
    "TELESALES_PAY_ADJUSTMENT_LIMIT": (1_000_000, 1, 100_000_000),
    "TELESALES_PAY_ADJUSTMENT_CONFIRM_FACTOR": (3, 1, 1000),
    "TELESALES_PAY_ADJUSTMENT_CONFIRM_CEILING": (20_000, 1, 100_000_000),
    "TELESALES_CALL_OPEN_LIMIT_MINUTES": (120, 10, 24 * 60),
    "TELESALES_CALL_CLOCK_SKEW_SECONDS": (120, 0, 3600),
}

ROLE_NAMES = {
    "center_manager",
    "team_lead",
    "agent",
    "recruiter",
    "hr_admin",
    "trainer",
    "planner",
    "data_officer",
    "renewal_ops",
}


def _reveal_roles(problems: list[EnvironmentProblem]) -> list[str]:
    raw = os.environ.get("TELESALES_PHONE_REVEAL_ROLES", "center_manager,data_officer")
    roles = [r.strip() for r in raw.split(",") if r.strip()]
    unknown = [r for r in roles if r not in ROLE_NAMES]
    if unknown:
        problems.append(
            EnvironmentProblem(
                "TELESALES_PHONE_REVEAL_ROLES",
                f"unknown role(s) {', '.join(unknown)}; "
                f"choose from {', '.join(sorted(ROLE_NAMES))}",
            )
        )
        return [r for r in roles if r in ROLE_NAMES]
    return roles


def _numbers(problems: list[EnvironmentProblem]) -> dict[str, int]:
    values = {}
    for name, (default, low, high) in NUMBER_VARIABLES.items():
        raw = os.environ.get(name, "").strip()
        if not raw:
            values[name] = default
            continue
        if not raw.isdigit() or not low <= int(raw) <= high:
            problems.append(
                EnvironmentProblem(name, f"'{raw}' is not a whole number from {low} to {high}")
            )
            values[name] = default
            continue
        values[name] = int(raw)
    return values


def _time_zone(problems: list[EnvironmentProblem]) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = os.environ.get("TELESALES_TIME_ZONE", "").strip() or "Asia/Shanghai"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(
            EnvironmentProblem(
                "TELESALES_TIME_ZONE", f"unknown time zone '{name}' (e.g. Asia/Shanghai)"
            )
        )
        return "Asia/Shanghai"
    return name


def read_environment() -> Environment:
    """Read every variable; collect problems instead of stopping at the first."""
    problems: list[EnvironmentProblem] = []
    data_dir, problem = _check_data_dir(os.environ.get("TELESALES_DATA_DIR", "./var"))
    if problem:
        problems.append(problem)
    database_url = os.environ.get("DATABASE_URL", "").strip() or None
    if database_url and (problem := check_database_url(database_url)):
        problems.append(problem)
    secret_key = None
    if not any(p.variable == "TELESALES_DATA_DIR" for p in problems):
        secret_key, problem = _secret_key(data_dir)
        if problem:
            problems.append(problem)
    broker_url = os.environ.get("CELERY_BROKER_URL", "").strip() or None
    if broker_url and urlsplit(broker_url).scheme not in {"redis", "rediss", "amqp", "filesystem"}:
        problems.append(
            EnvironmentProblem(
                "CELERY_BROKER_URL", "unsupported broker; use redis://host:6379/0 or leave it unset"
            )
        )
    port = os.environ.get("PORT", "").strip()
    if port and not (port.isdigit() and 0 < int(port) < 65536):
        problems.append(EnvironmentProblem("PORT", f"'{port}' is not a port number (1–65535)"))
    numbers = _numbers(problems)
    time_zone = _time_zone(problems)
    reveal_roles = _reveal_roles(problems)
    hash_key = os.environ.get("TELESALES_PHONE_HASH_KEY", "").strip()
    if hash_key and len(hash_key) < 32:
        problems.append(
            EnvironmentProblem("TELESALES_PHONE_HASH_KEY", "is shorter than 32 characters")
        )
    return Environment(
        data_dir=data_dir,
        database_url=database_url,
        secret_key=secret_key,
        broker_url=broker_url,
        time_zone=time_zone,
        numbers=numbers,
        reveal_roles=reveal_roles,
        problems=problems,
    )
