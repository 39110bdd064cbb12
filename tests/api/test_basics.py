"""Authentication, the error shape, health, me and node types."""

from __future__ import annotations


def test_a_request_without_a_key_is_401_with_the_error_shape(anonymous):
    response = anonymous.get("/api/me")

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "unauthorized"


def test_an_unknown_key_is_401(anonymous):
    response = anonymous.get("/api/me", headers={"X-API-Key": "fb_00000000_nope"})

    assert response.status_code == 401
    assert response.json()["error"]["message"] == "the API key is unknown or revoked"


def test_me_describes_the_caller(caller):
    body = caller.client.get("/api/me").json()

    assert body["id"] == str(caller.user_id)
    assert (body["kind"], body["credits"]) == ("user", 1000)


def test_the_key_works_as_x_api_key_too(anonymous, caller):
    assert anonymous.get("/api/me", headers={"X-API-Key": caller.key}).status_code == 200


def test_health_checks_the_database(anonymous):
    response = anonymous.get("/api/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_node_types_come_with_their_schemas(caller):
    types = {t["name"]: t for t in caller.client.get("/api/node-types").json()}

    assert types["logic.condition"]["branches"] == ["true", "false"]
    assert "url" in types["http.request"]["config_schema"]["properties"]


def test_an_unknown_route_is_404_in_the_error_shape(caller):
    response = caller.client.get("/api/nothing-here")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_openapi_is_served_with_docs(anonymous):
    assert anonymous.get("/api/openapi.json").json()["info"]["title"] == "Flow Builder API"
    assert anonymous.get("/api/docs").status_code == 200
