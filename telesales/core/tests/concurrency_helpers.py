"""Running calls at the same moment, as two users or a user and a task would: the tests of
races that only real concurrent transactions show (PostgreSQL; SQLite serialises writers)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connections


def at_once(*calls: Callable[[], object], timeout: float = 60) -> list[object]:
    """Run each call in a thread of its own, all started together, each with its own
    database connections (closed when it ends). Returns, in the order of ``calls``, what each
    returned or the exception it raised (None for one still running after ``timeout``)."""
    outcomes: list[object] = [None] * len(calls)

    def run(index: int, call: Callable[[], object]) -> None:
        try:
            outcomes[index] = call()
        except Exception as exc:  # the outcome the test asserts on
            outcomes[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    return outcomes
