"""``telesales bench people [agents=2000 repeat=50]``.

Seeds a demo center of N agents in a scratch database, then measures the permission-scoped
people list (the selector every org page and endpoint uses) and the HTML page for the
manager (sees everyone) and for a team lead (sees one team): latency and queries per request.
"""

from __future__ import annotations

import time

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from telesales.core.benchmarks import Benchmark, peak_rss_mb, timed
from telesales.core.benchmarks import register as _register
from telesales.org.demo import MIN_DEMO_AGENTS, seed_org_demo
from telesales.org.selectors import person_list


def run(*, agents: int, repeat: int) -> dict:
    start = time.perf_counter()
    seed_org_demo(agents=agents)
    seed_s = time.perf_counter() - start
    User = get_user_model()
    figures: dict = {"agents": agents, "seed_s": round(seed_s, 2)}
    for username in ("manager", "teamlead1"):
        user = User.objects.get(username=username)
        user = User.objects.get(pk=user.pk)  # fresh, no cached roles
        first_page = timed(lambda u=user: list(person_list(user=u)[:50]), repeat)
        figures[f"{username}_selector_page_p50_ms"] = first_page["p50_ms"]
        figures[f"{username}_selector_page_p95_ms"] = first_page["p95_ms"]
        client = Client()
        client.force_login(user)
        client.get("/org/people/")  # warm templates
        page = timed(lambda c=client: c.get("/org/people/"), repeat)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/org/people/")
        assert response.status_code == 200, response.status_code
        figures[f"{username}_page_p50_ms"] = page["p50_ms"]
        figures[f"{username}_page_p95_ms"] = page["p95_ms"]
        figures[f"{username}_page_queries"] = len(ctx.captured_queries)
    figures["peak_rss_mb"] = peak_rss_mb()
    return figures


def register() -> None:
    _register(
        Benchmark(
            name="people",
            description="people list (selector and page) for manager and team lead over N agents",
            run=run,
            defaults={"agents": 2000, "repeat": 50},
            minimums={"agents": MIN_DEMO_AGENTS, "repeat": 1},
        )
    )
