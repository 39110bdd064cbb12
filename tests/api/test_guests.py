"""Guest trials: the client IP behind trusted proxies, one trial per network, and the trial's end."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from shared.db.models import User
from shared.identity.guests import client_group, client_ip, ip_hash, trial_has_ended
from tests.api.test_runs import GREET, make_workflow


def unique_ip() -> str:
    return f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


def unique_ipv6() -> str:
    return f"2001:db8:{secrets.randbelow(65536):x}:{secrets.randbelow(65536):x}::1"


def start_trial(client, forwarded_for: str):
    return client.post("/api/auth/guest", headers={"X-Forwarded-For": forwarded_for})


def test_the_client_is_the_entry_the_trusted_proxy_added():
    assert client_ip("203.0.113.7", "130.176.0.1", 1) == "203.0.113.7"


def test_a_spoofed_left_most_entry_changes_nothing():
    assert client_ip("6.6.6.6, 203.0.113.7", "130.176.0.1", 1) == "203.0.113.7"
    assert client_ip("1.1.1.1, 2.2.2.2, 203.0.113.7", "130.176.0.1", 1) == "203.0.113.7"


def test_more_trusted_hops_count_further_from_the_right():
    assert client_ip("6.6.6.6, 203.0.113.7, 130.176.0.1", "10.0.0.2", 2) == "203.0.113.7"


def test_without_trusted_proxies_or_enough_entries_the_peer_is_the_client():
    assert client_ip("6.6.6.6", "198.51.100.4", 0) == "198.51.100.4"
    assert client_ip("203.0.113.7", "198.51.100.4", 2) == "198.51.100.4"
    assert client_ip(None, "198.51.100.4", 1) == "198.51.100.4"


def test_an_entry_that_is_not_an_address_falls_back_to_the_peer():
    assert client_ip("6.6.6.6, not-an-ip", "198.51.100.4", 1) == "198.51.100.4"


def test_ports_and_mapped_addresses_are_normalised():
    assert client_ip("203.0.113.7:4711", None, 1) == "203.0.113.7"
    assert client_ip("[2001:db8::1]:443", None, 1) == "2001:db8::1"
    assert client_ip("::ffff:203.0.113.7", None, 1) == "203.0.113.7"


def test_ipv6_clients_are_grouped_by_their_64():
    assert client_group("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert ip_hash("2001:db8:1:2::1", "salt") == ip_hash("2001:db8:1:2:ffff:ffff:ffff:ffff", "salt")
    assert ip_hash("2001:db8:1:2::1", "salt") != ip_hash("2001:db8:1:3::1", "salt")


def test_the_ip_hash_depends_on_the_salt_and_hides_the_address():
    assert ip_hash("203.0.113.7", "a") != ip_hash("203.0.113.7", "b")
    assert "203.0.113.7" not in ip_hash("203.0.113.7", "a")


def test_a_guest_gets_a_token_a_three_day_trial_and_trial_credits(anonymous, settings, engine):
    ip = unique_ip()

    response = start_trial(anonymous, ip)

    assert response.status_code == 201, response.text
    body = response.json()
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert abs(expires_at - (datetime.now(UTC) + timedelta(days=3))) < timedelta(minutes=1)
    assert body["credits"] == settings.guest_trial_credits
    me = anonymous.get("/api/me", headers={"Authorization": f"Bearer {body['token']}"}).json()
    assert (me["kind"], me["credits"]) == ("guest", settings.guest_trial_credits)
    with Session(engine) as session:
        guest = session.get(User, uuid.UUID(me["id"]))
    assert guest.guest_ip_hash == ip_hash(ip, settings.guest_ip_salt.get_secret_value())


def test_one_active_trial_per_ip_even_with_a_spoofed_left_most_entry(anonymous):
    ip = unique_ip()
    assert start_trial(anonymous, ip).status_code == 201

    again = start_trial(anonymous, f"{unique_ip()}, {ip}")

    assert again.status_code == 409
    assert again.json()["error"]["code"] == "guest_trial_active"
    assert start_trial(anonymous, unique_ip()).status_code == 201


def test_one_active_trial_per_ipv6_64(anonymous):
    address = unique_ipv6()
    assert start_trial(anonymous, address).status_code == 201

    assert start_trial(anonymous, address.replace("::1", ":beef:1:2:3")).status_code == 409


def expire_trial(engine, token_owner_id: str) -> None:
    with Session(engine) as session:
        session.execute(
            sa.update(User)
            .where(User.id == uuid.UUID(token_owner_id))
            .values(trial_expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
        session.commit()


def test_after_the_trial_a_new_one_may_start_from_the_same_ip(anonymous, engine):
    ip = unique_ip()
    token = start_trial(anonymous, ip).json()["token"]
    expire_trial(engine, anonymous.get("/api/me", headers={"Authorization": f"Bearer {token}"}).json()["id"])

    assert start_trial(anonymous, ip).status_code == 201


def test_when_the_trial_has_ended_runs_and_writes_get_403_and_reads_still_work(anonymous, engine):
    auth = {"Authorization": f"Bearer {start_trial(anonymous, unique_ip()).json()['token']}"}
    guest_id = anonymous.get("/api/me", headers=auth).json()["id"]
    workflow_id = make_workflow(engine, uuid.UUID(guest_id))
    expire_trial(engine, guest_id)

    run = anonymous.post(f"/api/workflows/{workflow_id}/runs", headers=auth, json={})
    write = anonymous.post("/api/workflows", headers=auth, json={"name": "more", "definition": GREET})

    assert run.status_code == 403
    assert run.json()["error"]["code"] == "trial_expired"
    assert "trial has ended" in run.json()["error"]["message"]
    assert write.status_code == 403
    assert anonymous.get(f"/api/workflows/{workflow_id}", headers=auth).status_code == 200


def test_a_guest_in_trial_can_build_and_run_workflows(anonymous):
    auth = {"Authorization": f"Bearer {start_trial(anonymous, unique_ip()).json()['token']}"}

    workflow = anonymous.post("/api/workflows", headers=auth, json={"name": "try", "definition": GREET})
    run = anonymous.post(f"/api/workflows/{workflow.json()['id']}/runs", headers=auth, json={})

    assert (workflow.status_code, run.status_code) == (201, 202)


def test_only_guests_have_trials_that_end():
    past = datetime.now(UTC) - timedelta(days=1)

    assert trial_has_ended(User(kind="guest", trial_expires_at=past))
    assert not trial_has_ended(User(kind="guest", trial_expires_at=datetime.now(UTC) + timedelta(days=1)))
    assert not trial_has_ended(User(kind="user", trial_expires_at=past))
