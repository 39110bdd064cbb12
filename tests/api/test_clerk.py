"""Clerk session JWTs: verified locally against a JWKS served from 127.0.0.1, RS256 only."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlmodel import Session, select

from api.app import create_app
from shared.db.models import User, Workflow
from shared.db.models.accounts import CreditLedgerEntry
from shared.identity.clerk import ClerkTokenError, ClerkVerifier, JwksCache
from shared.settings import Settings
from tests.api.test_runs import GREET
from tests.support.http_server import Reply

ISSUER = "https://clerk.flowbuilder.test"
ORIGIN = "https://app.flowbuilder.test"
STARTING_CREDITS = 77


def unique_ip() -> str:
    return f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def segment(part: dict) -> str:
    return b64(json.dumps(part).encode())


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk(key: rsa.RSAPrivateKey, kid: str) -> dict:
    return {**jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": kid, "use": "sig"}


class Jwks:
    """What the JWKS server publishes; `fetches` counts the requests it served."""

    def __init__(self, server, keys: list[dict]) -> None:
        self.server, self.keys = server, keys
        server.route("/.well-known/jwks.json", lambda _received: Reply(body={"keys": self.keys}))

    @property
    def url(self) -> str:
        return self.server.url("/.well-known/jwks.json")

    @property
    def fetches(self) -> int:
        return len(self.server.received)


@pytest.fixture
def jwks(server, signing_key) -> Jwks:
    return Jwks(server, [jwk(signing_key, "k1")])


@pytest.fixture
def settings(tmp_path, jwks: Jwks) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        egress_allow_private=True,
        clerk_issuer=ISSUER,
        clerk_jwks_url=jwks.url,
        clerk_authorized_parties=[ORIGIN],
        user_starting_credits=STARTING_CREDITS,
    )


def claims(**overrides) -> dict:
    now = int(time.time())
    base = {"iss": ISSUER, "sub": f"user_{time.time_ns()}", "iat": now, "nbf": now - 1, "exp": now + 60, "azp": ORIGIN}
    base.update(overrides)
    return {name: value for name, value in base.items() if value is not None}


def rs256(key: rsa.RSAPrivateKey, payload: dict, kid: str = "k1") -> str:
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid})


def get_me(anonymous, token: str):
    return anonymous.get("/api/me", headers={"Authorization": f"Bearer {token}"})


def assert_refused(response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith('Bearer realm="flowbuilder"')
    assert response.json()["error"]["code"] == "unauthorized"


def test_a_valid_token_is_accepted_and_creates_the_user_with_starting_credits(anonymous, signing_key, engine):
    payload = claims()

    first = get_me(anonymous, rs256(signing_key, payload))
    again = get_me(anonymous, rs256(signing_key, payload))

    assert first.status_code == 200, first.text
    assert (first.json()["kind"], first.json()["credits"]) == ("user", STARTING_CREDITS)
    assert again.json()["id"] == first.json()["id"]
    with Session(engine) as session:
        user = session.exec(select(User).where(User.clerk_user_id == payload["sub"])).one()
        ledger = session.exec(select(CreditLedgerEntry).where(CreditLedgerEntry.owner_id == user.id)).all()
    assert [entry.delta for entry in ledger] == [STARTING_CREDITS]


def test_alg_none_is_refused(anonymous):
    token = (
        f"{b64(json.dumps({'alg': 'none', 'typ': 'JWT', 'kid': 'k1'}).encode())}.{b64(json.dumps(claims()).encode())}."
    )

    response = get_me(anonymous, token)

    assert_refused(response)
    assert "algorithm" in response.json()["error"]["message"]


def test_hs256_signed_with_the_public_key_is_refused(anonymous, signing_key):
    public_pem = signing_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = (
        f"{b64(json.dumps({'alg': 'HS256', 'typ': 'JWT', 'kid': 'k1'}).encode())}.{b64(json.dumps(claims()).encode())}"
    )
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()

    assert_refused(get_me(anonymous, f"{signing_input}.{b64(signature)}"))


def test_a_token_expired_beyond_the_leeway_is_refused(anonymous, signing_key):
    response = get_me(anonymous, rs256(signing_key, claims(exp=int(time.time()) - 30)))

    assert_refused(response)
    assert "expired" in response.headers["www-authenticate"]


def test_a_token_expired_within_the_leeway_is_accepted(anonymous, signing_key):
    assert get_me(anonymous, rs256(signing_key, claims(exp=int(time.time()) - 2))).status_code == 200


def test_a_token_not_valid_yet_is_refused(anonymous, signing_key):
    assert_refused(get_me(anonymous, rs256(signing_key, claims(nbf=int(time.time()) + 60))))


def test_a_token_from_another_issuer_is_refused(anonymous, signing_key):
    assert_refused(get_me(anonymous, rs256(signing_key, claims(iss="https://evil.example"))))


def test_a_token_for_an_origin_not_allowed_is_refused(anonymous, signing_key):
    assert_refused(get_me(anonymous, rs256(signing_key, claims(azp="https://evil.example"))))


def test_a_token_without_azp_is_accepted(anonymous, signing_key):
    assert get_me(anonymous, rs256(signing_key, claims(azp=None))).status_code == 200


def test_an_unknown_kid_is_refused_without_refetching_the_keys_each_time(anonymous, signing_key, other_key, jwks):
    assert get_me(anonymous, rs256(signing_key, claims())).status_code == 200
    assert jwks.fetches == 1

    for _ in range(3):
        assert_refused(get_me(anonymous, rs256(other_key, claims(), kid="k-unknown")))

    assert jwks.fetches == 1


def test_a_key_signed_by_another_key_under_a_known_kid_is_refused(anonymous, other_key):
    assert_refused(get_me(anonymous, rs256(other_key, claims(), kid="k1")))


def test_a_tampered_payload_is_refused(anonymous, signing_key):
    header, _payload, signature = rs256(signing_key, claims()).split(".")
    forged = b64(json.dumps(claims(sub="user_admin")).encode())

    assert_refused(get_me(anonymous, f"{header}.{forged}.{signature}"))


def test_a_token_without_sub_is_refused(anonymous, signing_key):
    assert_refused(get_me(anonymous, rs256(signing_key, claims(sub=None))))


@pytest.mark.parametrize("token", ["abc.def.ghi", "..", "eyJhbGciOiJSUzI1NiJ9.e30.", "not a token"])
def test_garbage_is_refused(anonymous, token):
    assert_refused(get_me(anonymous, token))


def test_tokens_are_refused_when_clerk_is_not_configured(services, signing_key):
    from fastapi.testclient import TestClient

    services.settings = Settings(data_dir=services.settings.data_dir)
    client = TestClient(create_app(services.settings, services), raise_server_exceptions=False)

    assert_refused(get_me(client, rs256(signing_key, claims())))


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_unknown_kid_refreshes_the_keys_at_most_once_per_300_seconds(jwks, signing_key, other_key):
    clock = FakeClock()
    verifier = ClerkVerifier(ISSUER, jwks=JwksCache(jwks.url, 3600, 300, clock), authorized_parties=(ORIGIN,))
    rotated = rs256(other_key, claims(), kid="k2")
    verifier.verify(rs256(signing_key, claims()))
    jwks.keys.append(jwk(other_key, "k2"))

    clock.now += 10
    with pytest.raises(ClerkTokenError, match="unknown"):
        verifier.verify(rotated)
    fetches_within_window = jwks.fetches
    clock.now += 291
    verifier.verify(rotated)
    clock.now += 1
    with pytest.raises(ClerkTokenError, match="unknown"):
        verifier.verify(rs256(other_key, claims(), kid="k3"))

    assert (fetches_within_window, jwks.fetches) == (1, 2)


def test_keys_are_refetched_when_their_ttl_runs_out(jwks, signing_key):
    clock = FakeClock()
    verifier = ClerkVerifier(ISSUER, jwks=JwksCache(jwks.url, 600, 300, clock), authorized_parties=(ORIGIN,))
    verifier.verify(rs256(signing_key, claims()))
    clock.now += 599
    verifier.verify(rs256(signing_key, claims()))
    clock.now += 2
    verifier.verify(rs256(signing_key, claims()))

    assert jwks.fetches == 2


def test_a_pem_public_key_verifies_without_a_jwks_url(signing_key, other_key):
    pem = (
        signing_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    verifier = ClerkVerifier(ISSUER, public_key_pem=pem, authorized_parties=(ORIGIN,))

    assert verifier.verify(jwt.encode(claims(sub="user_pem"), signing_key, algorithm="RS256"))["sub"] == "user_pem"
    with pytest.raises(ClerkTokenError, match="signature"):
        verifier.verify(jwt.encode(claims(), other_key, algorithm="RS256"))


def test_a_signed_in_user_claims_a_guest_and_keeps_its_workflows(anonymous, signing_key, engine):
    guest = anonymous.post("/api/auth/guest", headers={"X-Forwarded-For": unique_ip()})
    assert guest.status_code == 201, guest.text
    guest_auth = {"Authorization": f"Bearer {guest.json()['token']}"}
    workflow = anonymous.post("/api/workflows", headers=guest_auth, json={"name": "mine", "definition": GREET})
    assert workflow.status_code == 201, workflow.text
    clerk_auth = {"Authorization": f"Bearer {rs256(signing_key, claims())}"}

    claimed = anonymous.post("/api/auth/claim-guest", headers=clerk_auth, json={"guest_token": guest.json()["token"]})

    assert claimed.status_code == 200, claimed.text
    assert claimed.json()["workflows"] == 1
    assert anonymous.get(f"/api/workflows/{workflow.json()['id']}", headers=clerk_auth).status_code == 200
    assert anonymous.get("/api/me", headers=guest_auth).status_code == 401
    me = anonymous.get("/api/me", headers=clerk_auth).json()
    with Session(engine) as session:
        assert str(session.get(Workflow, uuid.UUID(workflow.json()["id"])).owner_id) == me["id"]


def test_claiming_a_guest_needs_a_signed_in_session_not_an_api_key(caller, anonymous):
    guest = anonymous.post("/api/auth/guest", headers={"X-Forwarded-For": unique_ip()})

    response = caller.client.post("/api/auth/claim-guest", json={"guest_token": guest.json()["token"]})

    assert response.status_code == 403
    assert anonymous.get("/api/me", headers={"Authorization": f"Bearer {guest.json()['token']}"}).status_code == 200
