"""Memory habits of the batch jobs (a pay run, a lead import of a million rows)."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def without_cyclic_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a batch that allocates millions of small
    objects and creates none in a cycle (rows, tuples, decimals): every collection of the
    oldest generation would walk all of them again, for nothing. Reference counting still
    frees everything; the collector is switched back on (if it was on) however the batch
    ends. It is process-wide: keep the block to the batch itself."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
