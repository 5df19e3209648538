"""The API as a whole: the OpenAPI document, the one error shape, authentication and CSRF."""

from __future__ import annotations

import re

import pytest
from django.apps import apps

from telesales.core.models import UserSettings
from telesales.core.tests.api_helpers import JsonClient, assert_error_shape, bearer
from telesales.core.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}
ERROR_REF = "#/components/schemas/ErrorOut"


@pytest.fixture(scope="module")
def openapi(django_db_blocker):
    with django_db_blocker.unblock():
        response = JsonClient().get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    return response.json()


def _operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


# --- OpenAPI -------------------------------------------------------------------------------
def test_openapi_document_is_openapi_3(openapi):
    assert isinstance(openapi["openapi"], str) and openapi["openapi"].startswith("3.")
    assert openapi["info"]["title"] and openapi["info"]["version"]
    assert openapi["paths"], "no paths"
    assert all(path.startswith("/api/v1/") for path in openapi["paths"])


def test_every_reference_resolves(openapi):
    schemas = openapi["components"]["schemas"]
    for ref in set(_refs(openapi)):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.rsplit("/", 1)[-1] in schemas, f"dangling $ref {ref}"


def test_error_schema_is_the_one_error_shape(openapi):
    error = openapi["components"]["schemas"]["ErrorOut"]
    assert set(error["properties"]) == {"code", "message", "details"}
    assert {"code", "message"} <= set(error["required"])
    # QA: an integrator could not code against it: the codes are listed in the schema.
    described = error["properties"]["code"]["description"]
    for code in ("authentication_failed", "validation_failed", "request_too_large", "bad_request"):
        assert code in described, code


def test_every_write_declares_the_body_errors_it_can_answer(openapi):
    """A body that is not JSON (400) or too large (413) answers in the error shape on every
    write; the document says so (QA: 400 and 413 came back undeclared)."""
    for path, method, operation in _operations(openapi):
        if "requestBody" in operation:
            assert {"400", "413"} <= set(operation["responses"]), (method, path)


def test_every_operation_is_named_and_declares_its_errors(openapi):
    labels = {config.label for config in apps.get_app_configs()}
    seen = set()
    for path, method, operation in _operations(openapi):
        where = f"{method.upper()} {path}"
        op_id = operation.get("operationId")
        assert op_id, f"{where} has no operationId"
        assert op_id not in seen, f"duplicate operationId {op_id}"
        seen.add(op_id)
        assert re.fullmatch(r"[a-z]+(_[a-z]+)+", op_id), op_id
        assert op_id.split("_", 1)[0] in labels, f"{op_id} does not start with an app label"
        responses = operation["responses"]
        assert any(code.startswith("2") for code in responses), where
        errors = {code: r for code, r in responses.items() if code.startswith("4")}
        assert errors, f"{where} declares no 4xx answer"
        for code, answer in errors.items():
            schema = answer["content"]["application/json"]["schema"]
            ref = schema.get("$ref", "")
            if ref != ERROR_REF:
                # The one error shape, with its details spelled out (next-lead's 409).
                assert ref.startswith("#/components/schemas/"), (where, code, schema)
                refined = openapi["components"]["schemas"][ref.rsplit("/", 1)[-1]]
                assert set(refined["properties"]) == {"code", "message", "details"}, ref
                assert set(refined.get("required", [])) >= {"code", "message"}, ref
        if operation.get("security"):
            assert "401" in responses, f"{where} needs auth but does not declare 401"
        if "requestBody" in operation:
            assert "422" in responses, f"{where} takes a body but does not declare 422"
            content = operation["requestBody"]["content"]
            # JSON, or a file upload (multipart) for the import endpoints.
            assert {"application/json", "multipart/form-data"} & set(content), where
        for name in re.findall(r"\{(\w+)\}", path):
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert name in declared, f"{where} does not declare path parameter {name}"
        for parameter in operation.get("parameters", []):
            assert {"name", "in", "schema"} <= set(parameter), (where, parameter)


def test_security_schemes_are_declared(openapi):
    schemes = openapi["components"]["securitySchemes"]
    assert schemes["BearerAuth"] == {"type": "http", "scheme": "bearer"}
    assert schemes["SessionAuth"]["in"] == "cookie"
    for path, method, operation in _operations(openapi):
        if operation["operationId"] != "core_token_create":
            names = {name for requirement in operation["security"] for name in requirement}
            assert names == {"BearerAuth", "SessionAuth"}, (method, path)


def test_api_docs_page_is_served(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    assert b"/api/v1/openapi.json" in response.content


# --- The one error shape for bad input -----------------------------------------------------
@pytest.fixture
def user():
    return UserFactory(username="apiuser", roles=["agent"])


@pytest.fixture
def api(user):
    client = JsonClient()
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("{not json", 400),
        ('{"language": "en",}', 400),
        (b"\xff\xfe", 400),
        ("[]", 422),
        ("123", 422),
        ("null", 422),
        ("{}", 422),
        ('{"language": 5}', 422),
        ('{"language": ["en"]}', 422),
        ('{"language": "' + "x" * 10_000 + '"}', 422),
        ('{"language": "x"}', 422),
        ('{"language": "xx"}', 422),
        ('{"language": "e\\u0000n"}', 422),
    ],
)
def test_bad_bodies_answer_the_error_shape(api, user, raw, status):
    response = api.post_json("/api/v1/me/language", raw)
    body = assert_error_shape(response, status)
    if status == 422:
        assert body["code"] == "validation_failed"
        assert body["details"]["fields"], body
        assert all(isinstance(v, list) for v in body["details"]["fields"].values())
    assert not UserSettings.objects.filter(user=user).exists()


def test_validation_errors_name_the_field(api):
    missing = assert_error_shape(api.post_json("/api/v1/me/language", {}), 422)
    assert "language" in missing["details"]["fields"]
    unknown = assert_error_shape(api.post_json("/api/v1/me/language", {"language": "xx"}), 422)
    assert "language" in unknown["details"]["fields"]


def test_language_endpoint_saves_the_choice(api, user):
    response = api.post_json("/api/v1/me/language", {"language": "en"})
    assert response.status_code == 200
    assert response.json()["language"] == "en"
    assert UserSettings.objects.get(user=user).language == "en"
    assert api.get("/api/v1/me").json()["language"] == "en"


def test_me_describes_the_caller(api):
    body = api.get("/api/v1/me").json()
    assert body == {
        "username": "apiuser",
        "roles": ["agent"],
        "primary_role": "agent",
        "language": body["language"],
    }


# --- Authentication and CSRF ---------------------------------------------------------------
def test_anonymous_requests_get_401_in_the_error_shape():
    client = JsonClient(enforce_csrf_checks=True)
    for response in (
        client.get("/api/v1/me"),
        client.get("/api/v1/org/people"),
        client.post_json("/api/v1/me/language", {"language": "en"}),
        client.post_json("/api/v1/org/teams", {"name": "x"}),
    ):
        assert_error_shape(response, 401, "authentication_required")


@pytest.mark.parametrize(
    ("header", "code"),
    [
        # A bearer token sent but refused: "this token" is the problem, not "sign in".
        ("Bearer nonsense", "authentication_failed"),
        ("Bearer tsk_" + "a" * 43, "authentication_failed"),
        ("Bearer " + "tsk_" + "b" * 300, "authentication_failed"),
        ("Bearer ", "authentication_required"),
        ("Basic dXNlcjpwdw==", "authentication_required"),
        ("tsk_notbearer", "authentication_required"),
    ],
)
def test_bad_authorization_headers_get_401(header, code):
    response = JsonClient().get("/api/v1/me", HTTP_AUTHORIZATION=header)
    assert_error_shape(response, 401, code)


def test_session_auth_needs_csrf_for_unsafe_methods(user):
    client = JsonClient(enforce_csrf_checks=True)
    client.get("/accounts/login/")  # the sign-in page hands out the CSRF cookie
    token = client.cookies["csrftoken"].value
    client.force_login(user)
    assert client.get("/api/v1/me").status_code == 200  # safe methods need no token
    refused = client.post_json("/api/v1/me/language", {"language": "en"})
    assert_error_shape(refused, 403)
    assert not UserSettings.objects.filter(user=user).exists()
    # Sending the cookie's token back as the header passes.
    accepted = client.post_json("/api/v1/me/language", {"language": "en"}, HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 200, accepted.content
    wrong = client.post_json("/api/v1/me/language", {"language": "en"}, HTTP_X_CSRFTOKEN="x" * 32)
    assert_error_shape(wrong, 403)


def test_bearer_tokens_need_no_csrf(user):
    from telesales.core.services import token_create

    _token, secret = token_create(user=user, actor=user)
    client = JsonClient(enforce_csrf_checks=True)
    response = client.post_json("/api/v1/me/language", {"language": "en"}, **bearer(secret))
    assert response.status_code == 200, response.content
