#!/usr/bin/env python3
"""Regenerate docs/screenshots/*.png from the demo center, in a real Chromium.

    python scripts/screenshots.py               # or: make screenshots
    python scripts/screenshots.py --out /tmp/shots --keep

What it does, every time from scratch:

1. makes a throw-away data directory (``TELESALES_DATA_DIR``; SQLite and the embedded task
   broker, whatever ``DATABASE_URL`` or ``CELERY_BROKER_URL`` say in your shell);
2. runs ``telesales bootstrap`` and ``telesales seed-demo`` in it;
3. starts ``telesales serve --port <a free port>`` and waits for ``/health/``;
4. signs in through the login form as ``manager``, ``agent1``, ``teamlead1`` and ``data``
   (password ``demo``) and takes full-page screenshots at 1400x900 (see ``SHOTS``);
5. stops the server and removes the data directory, also when something fails.

The pages show a working day: when the center's local time (``TELESALES_TIME_ZONE``, default
Asia/Shanghai) is outside 09:30–20:00, where the agent workspace would only say that every
customer is outside the calling window, the center runs on a clock set to 10:30 of the same
local day (``--at``), through libfaketime's ``faketime`` (Debian: ``apt-get install
faketime``); without it the real clock is kept and a warning says so. ``--real-clock`` always
keeps it.

Chromium: ``/usr/bin/chromium`` when it exists, otherwise Playwright's own build
(``python -m playwright install chromium``). Chinese text needs a CJK font such as Debian's
``fonts-noto-cjk``; without one the screenshots show empty boxes. Date and time inputs are
drawn in the browser's language: with Debian's Chromium, install ``chromium-l10n`` too, or they
show mm/dd/yyyy and 08:30 PM.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from demo_server import demo_server, log

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "docs" / "screenshots"
SYSTEM_CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 900}
PASSWORD = "demo"


@dataclass(frozen=True)
class Shot:
    """One screenshot: who signs in, which page, the file name, what to wait for."""

    username: str
    path: str
    filename: str
    wait_for: str = "main"
    chart: str | None = None
    # Press this button first when the page does not show what the shot is about yet (the
    # workspace before "next lead"), then wait for ``then``.
    click: str | None = None
    then: str | None = None
    #: Click only when the page has ``click`` (a payslip without a rate-cell line has no
    #: fold-out to open).
    click_optional: bool = False


SHOTS = [
    Shot("manager", "/org/dashboard/", "manager-dashboard.png", chart="#chart-headcount"),
    Shot("manager", "/org/people/", "people-list.png", wait_for="table"),
    Shot(
        "agent1",
        "/calls/workspace/",
        "agent-workspace.png",
        wait_for="[data-testid=next-lead]",
        click="[data-testid=next-lead]",
        then=(
            "[data-testid=lead-header], [data-testid=nothing-to-dispatch], "
            "[data-testid=panel-error]"
        ),
    ),
    Shot("agent1", "/leads/mine/", "agent-my-leads.png", wait_for="[data-testid=my-leads-table]"),
    Shot("teamlead1", "/calls/board/", "team-lead-live-board.png", wait_for="table"),
    Shot("teamlead1", "/org/my-team/", "team-lead.png"),
    Shot("data", "/leads/dashboard/", "data-officer-leads.png"),
    Shot("data", "/leads/quality/", "lead-quality.png", chart="#chart-quality"),
    Shot("renewal", "/operations/", "renewal-operations.png"),
    Shot("renewal", "/tickets/queue/", "tickets-queue.png", wait_for="table"),
    Shot("hr", "/pay/payruns/", "hr-pay-runs.png", wait_for="table"),
    Shot(
        "agent1",
        "/pay/payslip/",
        "agent-payslip.png",
        click="[data-testid=line-parts] summary",
        then="[data-testid=line-parts][open]",
        click_optional=True,
    ),
    Shot("agent1", "/pay/early-warning/", "agent-early-warning.png"),
    Shot("agent1", "/org/my-day/", "agent-my-day.png", wait_for="[data-testid=indicators]"),
    Shot("hr", "/pay/rulesets/", "hr-rule-sets.png", wait_for="[data-testid=ruleset-table]"),
]


#: The local hours the screenshots show as they are; outside them the clock is moved.
WORKING_HOURS = (dt.time(9, 30), dt.time(20, 0))


def working_day_offset(now: dt.datetime, zone: str, at: dt.time) -> int:
    """Seconds to move the clock so that it reads ``at`` on the same local day in ``zone``
    when ``now`` (aware) is outside ``WORKING_HOURS`` there; 0 inside them."""
    local = now.astimezone(ZoneInfo(zone))
    if WORKING_HOURS[0] <= local.time() < WORKING_HOURS[1]:
        return 0
    target = dt.datetime.combine(local.date(), at, tzinfo=local.tzinfo)
    return round((target - local).total_seconds())


def local_time(text: str) -> dt.time:
    """``--at``: a time of day as HH:MM (``time.fromisoformat`` alone would take
    "111111" for 11:11:11), with a message argparse shows as it is."""
    found = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", text)
    if found is None:
        shown = text if len(text) <= 20 else text[:20] + "…"
        raise argparse.ArgumentTypeError(
            f"'{shown}' is not a time of day; give it as HH:MM, e.g. 10:30"
        )
    return dt.time(int(found.group(1)), int(found.group(2)))


def center_clock_offset(at: dt.time) -> int:
    """``working_day_offset`` for now in the center's time zone, or 0 (with a warning) when
    ``faketime`` is not installed."""
    zone = os.environ.get("TELESALES_TIME_ZONE", "").strip() or "Asia/Shanghai"
    now = dt.datetime.now(dt.UTC)
    offset = working_day_offset(now, zone, at)
    local = now.astimezone(ZoneInfo(zone)).strftime("%H:%M")
    if not offset:
        return 0
    if not shutil.which("faketime"):
        log(
            f"it is {local} in {zone}, outside working hours, and faketime is not installed "
            "(apt-get install faketime): the workspace will show its night-time empty state"
        )
        return 0
    log(f"it is {local} in {zone}: the center runs at {at:%H:%M} ({offset:+d} s, faketime)")
    return offset


def wait_for_chart(page, selector: str) -> None:
    """Wait until the ECharts chart in ``selector`` has drawn and finished its animation."""
    page.wait_for_selector(f"{selector}[data-rendered='1']")
    page.wait_for_selector(f"{selector} canvas", state="attached")
    page.evaluate(
        """(selector) => new Promise((resolve) => {
            const chart = echarts.getInstanceByDom(document.querySelector(selector));
            if (!chart) { resolve(false); return; }
            chart.on("finished", () => resolve(true));
            setTimeout(() => resolve(false), 3000);
        })""",
        selector,
    )


def sign_in(context, base_url: str, username: str):
    page = context.new_page()
    page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    if "/accounts/login/" in page.url:
        raise SystemExit(f"screenshots: '{username}' could not sign in (still on {page.url})")
    return page


def launch_chromium(playwright):
    executable = str(SYSTEM_CHROMIUM) if SYSTEM_CHROMIUM.exists() else None
    try:
        # Date and time inputs follow the browser's own language, not the page's: Chinese
        # (年/月/日, 24-hour) needs the language in the environment and, with Debian's
        # Chromium, its translations (package chromium-l10n); without them they read mm/dd/yyyy.
        return playwright.chromium.launch(
            executable_path=executable,
            args=[*CHROMIUM_ARGS, "--lang=zh-CN"],
            env={**os.environ, "LANGUAGE": "zh_CN", "LANG": "zh_CN.UTF-8"},
        )
    except Exception as exc:
        raise SystemExit(
            "screenshots: cannot start Chromium; install Debian's chromium package or run "
            f"'{sys.executable} -m playwright install chromium'\n{exc}"
        ) from exc


def take(base_url: str, out_dir: Path, *, browser) -> list[Path]:
    """Sign in once per user, visit each page and write its screenshot."""
    written = []
    try:
        pages: dict[str, object] = {}
        for shot in SHOTS:
            page = pages.get(shot.username)
            if page is None:
                context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
                page = pages[shot.username] = sign_in(context, base_url, shot.username)
            response = page.goto(f"{base_url}{shot.path}")
            if response is None or response.status != 200:
                status = response.status if response else "no answer"
                raise SystemExit(f"screenshots: {shot.username} {shot.path} answered {status}")
            page.wait_for_selector(shot.wait_for)
            wanted = shot.click and (not shot.click_optional or page.query_selector(shot.click))
            if wanted and not page.query_selector("[data-testid=lead-header]"):
                page.click(shot.click)
                try:
                    page.wait_for_selector(shot.then or shot.wait_for)
                except Exception:
                    shown = page.evaluate("document.querySelector('main')?.innerText ?? ''")
                    log(f"{shot.username} {shot.path}: after the click the page shows:")
                    log(shown[:600])
                    raise
                page.wait_for_load_state("networkidle")
            if shot.chart:
                wait_for_chart(page, shot.chart)
            page.evaluate("document.fonts.ready")
            target = out_dir / shot.filename
            page.screenshot(path=str(target), full_page=True)
            shown = target.relative_to(ROOT) if target.is_relative_to(ROOT) else target
            log(f"{shot.username:<10} {shot.path:<18} -> {shown}")
            written.append(target)
    finally:
        browser.close()
    return written


def warn_without_cjk_font() -> None:
    if not shutil.which("fc-list"):
        return
    found = subprocess.run(
        ["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=False
    )
    if not found.stdout.strip():
        log("warning: no Chinese font found; install fonts-noto-cjk or the text shows as boxes")


def _exit_on_sigterm(signum, frame):
    raise SystemExit(f"screenshots: stopped by signal {signum}")


def main(argv: list[str] | None = None) -> int:
    # A plain ``kill`` must still stop the server and remove the data directory (``finally``).
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="default: docs/screenshots")
    parser.add_argument(
        "--keep", action="store_true", help="keep the throw-away data directory (for debugging)"
    )
    parser.add_argument("--timeout", type=float, default=90, help="seconds to wait for the server")
    parser.add_argument(
        "--at",
        type=local_time,
        default=dt.time(10, 30),
        help="local time the center runs at outside working hours (default 10:30)",
    )
    parser.add_argument("--real-clock", action="store_true", help="never move the center's clock")
    args = parser.parse_args(argv)
    out_dir = args.out.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    warn_without_cjk_font()

    from playwright.sync_api import sync_playwright

    data_dir = Path(tempfile.mkdtemp(prefix="telesales-screenshots-"))
    log(f"data directory {data_dir}")
    try:
        offset = 0 if args.real_clock else center_clock_offset(args.at)
        with (
            demo_server(data_dir, timeout=args.timeout, clock_offset=offset) as base_url,
            sync_playwright() as pw,
        ):
            written = take(base_url, out_dir, browser=launch_chromium(pw))
    finally:
        if args.keep:
            log(f"kept {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
    log(f"{len(written)} screenshots written to {out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
