"""Helpers shared by the API tests of every app: a JSON test client and the error shape."""

from __future__ import annotations

import json

from django.test import Client


class JsonClient(Client):
    """The Django test client with JSON helpers (a string or bytes body is sent as is)."""

    def _send(self, method: str, path: str, body, **extra):
        data = body if isinstance(body, str | bytes) else json.dumps(body)
        return getattr(self, method)(path, data=data, content_type="application/json", **extra)

    def post_json(self, path: str, body, **extra):
        return self._send("post", path, body, **extra)

    def patch_json(self, path: str, body, **extra):
        return self._send("patch", path, body, **extra)

    def put_json(self, path: str, body, **extra):
        return self._send("put", path, body, **extra)


def assert_error_shape(response, status: int | tuple[int, ...], code: str | None = None) -> dict:
    """The API's one error shape: ``{code, message, details}`` with a 4xx status."""
    statuses = (status,) if isinstance(status, int) else tuple(status)
    assert response.status_code in statuses, (response.status_code, response.content[:500])
    assert 400 <= response.status_code < 500
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"code", "message", "details"}, body
    assert isinstance(body["code"], str) and body["code"], body
    assert isinstance(body["message"], str) and body["message"], body
    assert isinstance(body["details"], dict), body
    if code is not None:
        assert body["code"] == code, body
    return body


def bearer(secret: str) -> dict:
    """Request headers that carry a bearer token."""
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
