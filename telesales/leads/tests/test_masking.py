"""Acceptance: no agent-facing page, API answer, export, error page, message or log line ever
holds a full phone number (issue 3, "Masking").

The crawl signs in as an agent and as a team lead of the demo center (with its demo lead data)
and requests every URL pattern of the project (path parameters filled with ids of objects the
user owns and of objects they do not), every GET operation of the JSON API, the links found in
the pages, and a few writes (claim, release, refused reveal, refused export, bad input). Every
response body (HTML, JSON, CSV, the text of XLSX files), the redirect targets and the log
records are searched for the E.164 and the national 11-digit form of every customer's number
in the database, and for anything ``core.phone_numbers.PHONE_LIKE`` recognises.
"""

from __future__ import annotations

import io
import json
import logging
import re
import zipfile
from collections import deque
from html import unescape
from urllib.parse import urljoin, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse

from telesales.core.models import AuditEntry
from telesales.core.phone_numbers import PHONE_LIKE
from telesales.core.tests.api_helpers import JsonClient
from telesales.leads.allocation import allocation_preview
from telesales.leads.choices import LeadState
from telesales.leads.models import Customer, DncEntry, Lead, LeadBatch, LeadRuleSet
from telesales.org.models import Level, Person, Seat

pytestmark = pytest.mark.django_db

CRAWLERS = ("agent1", "teamlead1")
MAX_PAGES = 600
LINK = re.compile(r"""(?:href|hx-get|action)\s*=\s*["']([^"'#]+)["']""")
NATIONAL_MOBILE = re.compile(r"(?=(1[3-9]\d{9}))")
SKIP_PREFIXES = ("/static/", "/accounts/logout/", "/api/v1/docs", "/django-admin/logout/")


@pytest.fixture
def leads_demo(leads_demo_shared, db):
    return leads_demo_shared


# --- What must never appear ----------------------------------------------------------------
@pytest.fixture
def secrets(leads_demo):
    """Every full number in the database, national form (the E.164 form contains it)."""
    numbers = set()
    for e164 in Customer.objects.values_list("mobile_e164", flat=True):
        assert e164.startswith("+86") and len(e164) == 14, e164
        numbers.add(e164[3:])
    assert len(numbers) > 500
    return numbers


def body_text(response) -> str:
    """The text of a response: decoded bytes, XLSX unzipped (every XML part)."""
    content = b"".join(response.streaming_content) if response.streaming else response.content
    parts = [f"{k}: {v}" for k, v in response.items()]
    if content[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(content)) as book:
            for name in book.namelist():
                parts.append(book.read(name).decode("utf-8", "replace"))
    else:
        text = content.decode("utf-8", "replace")
        parts.append(text)
        parts.append(unescape(text))
        if response.get("Content-Type", "").startswith("application/json"):
            parts.append(json.dumps(json.loads(text), ensure_ascii=False))
    return "\n".join(parts)


def leaks(text: str, secrets: set[str]) -> list[str]:
    found = sorted({m for m in NATIONAL_MOBILE.findall(text) if m in secrets})
    found += [f"PHONE_LIKE:{m.group(0)}" for m in PHONE_LIKE.finditer(text)]
    return found


class Crawl:
    """Requests made as one user, with every body checked for numbers."""

    def __init__(self, client: Client, secrets: set[str]):
        self.client = client
        self.secrets = secrets
        self.problems: list[tuple] = []
        self.statuses: dict[str, int] = {}
        self.pages: dict[str, str] = {}

    def check(self, label: str, response) -> str:
        text = body_text(response)
        found = leaks(text, self.secrets)
        if found:
            self.problems.append((label, response.status_code, found[:5]))
        if response.status_code >= 500:
            self.problems.append((label, response.status_code, "server error"))
        return text

    def get(self, url: str, **extra):
        response = self.client.get(url, **extra)
        self.statuses[url] = response.status_code
        text = self.check(f"GET {url}", response)
        if response.status_code == 200 and "text/html" in response.get("Content-Type", ""):
            self.pages[url] = text
        return response

    def send(self, method: str, url: str, data=None, **extra):
        response = getattr(self.client, method)(url, data=data or {}, **extra)
        self.check(f"{method.upper()} {url}", response)
        return response


# --- Objects to put in URLs ----------------------------------------------------------------
@pytest.fixture
def ids(leads_demo):
    """Path parameter name → ids to try: the user's own objects and other people's."""
    User = get_user_model()
    data = User.objects.get(username="data")
    agent1 = Person.objects.get(user__username="agent1")
    lead1 = Person.objects.get(user__username="teamlead1")
    other_agent = Person.objects.exclude(team=agent1.team).filter(
        user__username__startswith="agent"
    )
    other_agent = other_agent.order_by("id").first()
    run = allocation_preview(
        actor=data,
        strategy="round_robin",
        criteria={"limit": 5},
        targets={"team_ids": [other_agent.team_id]},
        seed=7,
    )

    def lead_of(**kw):
        return Lead.objects.filter(**kw).order_by("id").values_list("id", flat=True).first()

    leads = [
        lead_of(owner=agent1, state=LeadState.OWNED),
        lead_of(owner=agent1, state=LeadState.IN_PROGRESS),
        lead_of(owner=agent1, state=LeadState.WON),
        lead_of(owner__team=agent1.team, state=LeadState.OWNED),
        lead_of(owner=other_agent),
        lead_of(state=LeadState.PUBLIC),
        lead_of(state=LeadState.PUBLIC, former_owner__isnull=False),
        lead_of(state=LeadState.DNC),
        lead_of(state=LeadState.INVALID),
        lead_of(state=LeadState.NEW),
        999_999_999,
    ]
    people = [agent1.pk, lead1.pk, other_agent.pk, Person.objects.get(user__username="data").pk]
    batches = list(LeadBatch.objects.order_by("id").values_list("id", flat=True)[:2])
    return {
        "lead_id": [i for i in leads if i],
        "batch_id": [*batches, 999_999],
        "run_id": [run.pk, 999_999],
        "ruleset_id": [*LeadRuleSet.objects.values_list("id", flat=True)[:2], 999_999],
        "entry_id": [DncEntry.objects.order_by("id").first().pk, 999_999],
        "person_id": people,
        "team_id": [agent1.team_id, other_agent.team_id],
        "seat_id": [Seat.objects.get(person=agent1).pk, Seat.objects.get(person=other_agent).pk],
        "level_id": [Level.objects.order_by("id").first().pk],
        "object_id": [leads[0], agent1.pk],
        "app_label": ["leads", "org"],
        "uidb64": ["MQ"],
        "token": ["x-y"],
        "url": ["leads/lead/"],
    }


def _walk(patterns, prefix_names=(), namespace=None):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace
            full = f"{namespace}:{ns}" if namespace and ns else (ns or namespace)
            names = (*prefix_names, *_params(entry.pattern))
            yield from _walk(entry.url_patterns, names, full)
        elif isinstance(entry, URLPattern):
            names = (*prefix_names, *_params(entry.pattern))
            label = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            yield label, names, entry


def _params(pattern) -> tuple[str, ...]:
    converters = getattr(pattern, "converters", None)
    if converters is not None and hasattr(pattern, "_route"):
        return tuple(converters)
    return tuple(pattern.regex.groupindex)


def every_url(ids) -> tuple[list[str], list[str]]:
    """One URL per pattern and parameter value; and the patterns that could not be built."""
    urls, unbuilt = [], []
    for name, params, _pattern in _walk(get_resolver().url_patterns):
        if not name:
            unbuilt.append(str(_pattern.pattern))
            continue
        if not params:
            try:
                urls.append(reverse(name))
            except NoReverseMatch:
                unbuilt.append(name)
            continue
        built = False
        first, rest = params[0], params[1:]
        for value in ids.get(first, [1]):
            kwargs = {first: value, **{p: ids.get(p, [1])[0] for p in rest}}
            try:
                urls.append(reverse(name, kwargs=kwargs))
                built = True
            except NoReverseMatch:
                continue
        if not built:
            unbuilt.append(name)
    return urls, unbuilt


def api_get_operations(client) -> list[tuple[str, str]]:
    document = client.get("/api/v1/openapi.json").json()
    return [
        (operation["operationId"], path)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
        if method == "get"
    ]


def _links(url: str, html: str) -> list[str]:
    found = []
    for raw in LINK.findall(html):
        target = urljoin(url, unescape(raw))
        parts = urlsplit(target)
        if parts.netloc and parts.netloc != "testserver":
            continue
        local = parts.path + (f"?{parts.query}" if parts.query else "")
        if local.startswith("/") and not local.startswith(SKIP_PREFIXES):
            found.append(local)
    return found


def crawl(username: str, secrets, ids, caplog) -> Crawl:
    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    c = Crawl(client, secrets)
    caplog.set_level(logging.DEBUG)

    # 1. Every URL pattern of the project, with ids of own and other people's objects.
    urls, unbuilt = every_url(ids)
    assert len(urls) > 60, urls
    assert not [u for u in unbuilt if str(u).startswith(("leads:", "org:", "core:"))], unbuilt
    for url in urls:
        response = c.get(url)
        if response.status_code in (301, 302) and response["Location"].startswith("/"):
            c.get(response["Location"])
        c.get(url, HTTP_HX_REQUEST="true")  # the htmx partial of the same page

    # 2. The links found in the pages (pagination, filters, details), breadth first.
    queue = deque(url for page_url, html in list(c.pages.items()) for url in _links(page_url, html))
    seen = set(c.statuses)
    while queue and len(seen) < MAX_PAGES:
        url = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        c.get(url)
        if url in c.pages:
            queue.extend(_links(url, c.pages[url]))

    # 3. Every GET operation of the API, with the same ids.
    api = JsonClient()
    api.force_login(get_user_model().objects.get(username=username))
    c_api = Crawl(api, secrets)
    operations = api_get_operations(api)
    assert any(op.startswith("leads_") for op, _path in operations)
    for _op, path in operations:
        names = re.findall(r"\{(\w+)\}", path)
        values = ids.get(names[0], [1]) if names else [None]
        for value in values:
            url = re.sub(r"\{\w+\}", str(value), path) if names else path
            c_api.get(url)
    for query in (
        "?mine=true",
        "?state=public",
        "?state=private",
        "?q=13800000000",
        "?limit=500",
        "?format=csv",
    ):
        c_api.get(f"/api/v1/leads/leads{query}")
    c.problems += c_api.problems
    c.statuses.update({f"api {k}": v for k, v in c_api.statuses.items()})
    return c


def _act(c: Crawl, username: str, ids, secrets) -> None:
    """Writes an agent makes, with good and bad input; their answers and messages too."""
    public = Lead.objects.filter(state=LeadState.PUBLIC, consent_at__isnull=False).order_by("id")
    first = public.first()
    another = Customer.objects.exclude(pk=first.customer_id).order_by("id").first()
    # Claim (htmx and plain), then release with a reason that holds a customer's number.
    c.send("post", f"/leads/{first.pk}/claim/", HTTP_HX_REQUEST="true")
    c.send("post", f"/leads/{first.pk}/claim/", HTTP_HX_REQUEST="true")  # refused: taken
    released = c.send(
        "post",
        f"/leads/{first.pk}/release/",
        {"reason": f"客户让打 {another.mobile_e164[3:]} 联系家人"},
    )
    if released.status_code == 302:
        c.get(released["Location"])
    c.get(f"/leads/{first.pk}/")
    c.get(f"/api/v1/leads/leads/{first.pk}")
    second = public.exclude(pk=first.pk).first()
    response = c.send("post", f"/leads/{second.pk}/claim/", {"next": "/leads/public/"})
    c.get(response["Location"] if response.status_code == 302 else "/leads/public/")
    for lead_id in ids["lead_id"]:
        # An agent may neither reveal nor export: refused, and nothing leaks in the refusal.
        assert c.send("post", f"/leads/{lead_id}/reveal/", {"reason": "看一下"}).status_code == 403
        c.send("post", f"/leads/{lead_id}/release/", {"reason": ""})
        c.send("post", f"/leads/{lead_id}/release/", {"reason": "x" * 5000})
        c.send("post", f"/leads/{lead_id}/claim/", HTTP_HX_REQUEST="true")
    api = JsonClient()
    api.force_login(get_user_model().objects.get(username=username))
    c_api = Crawl(api, secrets)
    for lead_id in ids["lead_id"]:
        c_api.send(
            "post",
            f"/api/v1/leads/leads/{lead_id}/reveal",
            json.dumps({"reason": "看一下"}),
            content_type="application/json",
        )
        c_api.send("post", f"/api/v1/leads/leads/{lead_id}/claim", content_type="application/json")
        c_api.send(
            "post",
            f"/api/v1/leads/leads/{lead_id}/release",
            json.dumps({"reason": ""}),
            content_type="application/json",
        )
    c_api.send(
        "post",
        "/api/v1/leads/exports/leads",
        json.dumps({"include_full_numbers": True, "reason": "x"}),
        content_type="application/json",
    )
    c_api.send(
        "post",
        "/api/v1/leads/dnc",
        json.dumps({"phone": another.mobile_e164}),
        content_type="application/json",
    )
    c.problems += c_api.problems
    c.send("post", "/leads/export/", {"format": "csv", "include_full_numbers": "on", "reason": "x"})
    c.send("post", "/leads/dnc/new/", {"phone": another.mobile_e164[3:]})


@pytest.mark.parametrize("username", CRAWLERS)
def test_crawling_every_page_and_endpoint_finds_no_full_phone_number(
    username, secrets, ids, caplog
):
    c = crawl(username, secrets, ids, caplog)
    _act(c, username, ids, secrets)
    # Enough of the site was really seen, including lead data.
    ok = [u for u, s in c.statuses.items() if s == 200]
    assert len(ok) > 40, ok
    assert any(u.startswith("/leads/mine/") or u.startswith("/leads/team/") for u in ok), ok
    assert any(re.fullmatch(r"/leads/\d+/", u) for u in ok), ok
    assert "api /api/v1/leads/leads" in ok
    assert any(s == 404 for s in c.statuses.values()) and any(
        s == 403 for s in c.statuses.values()
    ), "the crawl saw no error page"
    print(username, len(c.statuses), sorted(set(c.statuses.values())))
    assert not c.problems, "\n".join(map(str, c.problems[:30]))
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert not leaks(logged, secrets), leaks(logged, secrets)[:5]


def test_pages_show_the_masked_form_instead(page_as, person_of):
    lead = (
        Lead.objects.filter(owner=person_of("agent1"), state=LeadState.OWNED)
        .select_related("customer")
        .first()
    )
    national = lead.customer.mobile_e164[3:]
    masked = f"{national[:3]}****{national[-4:]}"
    for url in ("/leads/mine/", f"/leads/{lead.pk}/"):
        html = page_as("agent1").get(url).content.decode()
        assert masked in html and national not in html


def test_the_checker_finds_numbers_in_every_form(secrets):
    number = sorted(secrets)[0]
    for text in (
        number,
        f"+86{number}",
        f"%2B86{number}",
        f"{number[:3]} {number[3:7]} {number[7:]}",
        f"{number[:3]}-{number[3:7]}-{number[7:]}",
        f'"mobile": "+86{number}"',
    ):
        assert leaks(text, secrets), text
    assert not leaks(f"{number[:3]}****{number[-4:]}", secrets)


# --- Reveal --------------------------------------------------------------------------------
def test_reveal_shows_the_number_once_and_audits_who_which_lead_and_why(page_as, user_named):
    lead = Lead.objects.filter(state=LeadState.OWNED).select_related("customer").first()
    client = page_as("data")
    detail = client.get(f"/leads/{lead.pk}/").content.decode()
    assert 'data-testid="reveal-button"' in detail
    response = client.post(
        f"/leads/{lead.pk}/reveal/", {"reason": "客户来电要求核对号码"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert lead.customer.mobile_e164 in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    entry = AuditEntry.objects.get(action="leads.phone_reveal", object_id=str(lead.pk))
    assert entry.actor == user_named("data")
    assert entry.object_type == "leads.lead"
    assert entry.reason == "客户来电要求核对号码"
    assert lead.customer.mobile_e164 not in entry.object_repr
    # Shown once: not in a message, the session or the next page.
    assert lead.customer.mobile_e164[3:] not in client.get(f"/leads/{lead.pk}/").content.decode()
    assert lead.customer.mobile_e164[3:] not in json.dumps(dict(client.session.items()))


def test_reveal_needs_a_reason(page_as):
    lead = Lead.objects.filter(state=LeadState.OWNED).first()
    response = page_as("manager").post(f"/leads/{lead.pk}/reveal/", {"reason": " "})
    assert response.status_code == 422
    assert not AuditEntry.objects.filter(action="leads.phone_reveal").exists()


@pytest.mark.parametrize("username", ["agent1", "teamlead1", "planner", "hr"])
def test_reveal_button_hidden_and_endpoint_refused_for_other_roles(username, page_as, api_as):
    lead = Lead.objects.filter(owner__user__username="agent1").first()
    detail = page_as(username).get(f"/leads/{lead.pk}/")
    assert 'data-testid="reveal-button"' not in detail.content.decode()
    assert (
        page_as(username).post(f"/leads/{lead.pk}/reveal/", {"reason": "看看"}).status_code == 403
    )
    response = api_as(username).post_json(
        f"/api/v1/leads/leads/{lead.pk}/reveal", {"reason": "看看"}
    )
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not AuditEntry.objects.filter(action="leads.phone_reveal").exists()
    # Both attempts are in the audit log, with who, which lead, how and the reason typed
    # (QA: refusals were only in the server's log).
    tried = AuditEntry.objects.filter(action="leads.phone_reveal_refused", object_id=str(lead.pk))
    assert sorted(e.after["via"] for e in tried) == ["api", "page"]
    assert {e.actor_name for e in tried} == {username} and {e.reason for e in tried} == {"看看"}


@pytest.mark.parametrize("username", ["agent1", "teamlead1", "planner"])
def test_exports_are_refused_to_everyone_but_the_data_officer_and_manager(
    username, page_as, api_as
):
    assert page_as(username).get("/leads/export/").status_code == 403
    assert page_as(username).post("/leads/export/", {"format": "csv"}).status_code == 403
    response = api_as(username).post_json("/api/v1/leads/exports/leads", {"format": "csv"})
    assert response.status_code == 403
    assert not AuditEntry.objects.filter(action="leads.lead_export").exists()
