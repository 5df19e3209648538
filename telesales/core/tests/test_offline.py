"""No page may load anything from the internet: every asset is vendored."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db

EXTERNAL = re.compile(
    r"""(?:src|href)\s*=\s*["'](?:https?:)?//(?!testserver|127\.0\.0\.1|localhost)"""
)


@pytest.mark.parametrize(
    ("username", "path"),
    [
        (None, "/accounts/login/"),
        ("manager", "/org/dashboard/"),
        ("manager", "/api/v1/docs"),
        ("agent1", "/org/my-day/"),
        ("teamlead1", "/org/people/"),
        ("manager", "/audit/"),
    ],
)
def test_pages_reference_no_external_assets(client, client_for, username, path):
    c = client_for(username) if username else client
    response = c.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert not EXTERNAL.findall(html), EXTERNAL.findall(html)
    # Every page that loads scripts loads vendored ones from /static/.
    for src in re.findall(r"""<script[^>]+src=["']([^"']+)""", html):
        assert src.startswith("/static/"), src


def test_dashboard_loads_vendored_echarts(client_for):
    html = client_for("manager").get("/org/dashboard/").content.decode()
    assert "/static/vendor/echarts-5.6.0/echarts.min.js" in html


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("get", "/api/v1/no-such-thing", 404, "not_found"),
        ("delete", "/api/v1/org/people", 405, "method_not_allowed"),
    ],
)
def test_api_errors_outside_handlers_keep_the_error_shape(client_for, method, path, status, code):
    response = getattr(client_for("manager"), method)(path)
    assert response.status_code == status
    body = response.json()
    assert body["code"] == code and set(body) == {"code", "message", "details"}


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/api/v1/leads/batches", "无法读取 multipart 请求正文"),  # a form endpoint (zh-Hans)
        ("/api/v1/auth/token", "无法读取请求内容"),  # a JSON endpoint
    ],
)
def test_a_multipart_body_without_its_boundary_is_a_bad_request_in_the_error_shape(
    client_for, path, words
):
    response = client_for("data").generic("POST", path, b"xx", content_type="multipart/form-data")
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"code", "message", "details"} and words in body["message"]


def test_a_body_over_the_upload_limit_is_a_413_in_the_error_shape_and_the_users_language(
    client_for,
):
    """Django stops reading a body over DATA_UPLOAD_MAX_MEMORY_SIZE (files aside): the API said
    a bare English "Bad Request"."""
    from django.conf import settings

    text = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)
    response = client_for("hr").post(
        "/api/v1/compensation/rulesets",
        {"text": text, "effective_from": "2026-12-01"},
    )
    assert response.status_code == 413
    body = response.json()
    assert body["code"] == "request_too_large" and "请求过大" in body["message"]
    assert body["details"]["limit_bytes"] == settings.DATA_UPLOAD_MAX_MEMORY_SIZE
