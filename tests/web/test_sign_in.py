"""Signing in: the local user automatically, a guest trial with its banner, and Clerk through a
stand-in for its browser SDK that hands the app a JWT signed by the test's JWKS."""

from __future__ import annotations

import base64
import json
import time

import httpx
import jwt
from playwright.sync_api import Page, expect

from tests.web.conftest import CLERK_ISSUER

CLERK_STANDIN = """
(function () {
  var token = %s;
  var listeners = [];
  var clerk = {
    session: null,
    load: function () { return Promise.resolve(); },
    openSignIn: function () {
      clerk.session = { getToken: function () { return Promise.resolve(token); } };
      listeners.forEach(function (listener) { listener({ session: clerk.session }); });
    },
    signOut: function () { clerk.session = null; return Promise.resolve(); },
    addListener: function (listener) { listeners.push(listener); return function () {}; }
  };
  window.Clerk = clerk;
})();
"""


def hosted_config(page: Page, **overrides) -> None:
    """What the CDK stack's config.json says in aws mode: no local key."""
    body = {"apiBase": "/api", "mode": "aws", "clerkPublishableKey": None, "localApiKey": None, **overrides}
    page.route("**/config.json", lambda route: route.fulfill(json=body))


def stored_token(page: Page) -> str:
    return json.loads(page.evaluate("localStorage.getItem('fb.session')"))["token"]


def test_the_local_user_is_signed_in_automatically(page: Page):
    page.goto("/")

    expect(page.get_by_role("heading", name="Workflows")).to_be_visible()
    expect(page.get_by_test_id("whoami")).to_contain_text("credits")
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


def test_a_guest_sees_the_trial_banner_with_credits_and_days_left(page: Page, dev_server):
    hosted_config(page)
    page.goto("/")

    page.get_by_role("button", name="Try as guest").click()

    banner = page.get_by_test_id("guest-banner")
    expect(banner).to_be_visible()
    me = httpx.get(f"{dev_server.url}/api/me", headers={"Authorization": f"Bearer {stored_token(page)}"}).json()
    assert me["kind"] == "guest"
    expect(banner).to_have_text(f"Guest trial: {me['credits']} credits left, 3 days left. Sign in to keep your work.")

    page.reload()
    expect(page.get_by_test_id("guest-banner")).to_contain_text(f"{me['credits']} credits left")


def test_signing_in_with_clerk_uses_its_session_token(page: Page, dev_server, clerk_key, clerk_jwks):
    now = int(time.time())
    claims = {"iss": CLERK_ISSUER, "sub": "user_web_e2e", "email": "ada@example.com", "iat": now, "exp": now + 600}
    token = jwt.encode(claims, clerk_key, algorithm="RS256", headers={"kid": "web-1"})
    publishable = "pk_test_" + base64.b64encode(b"clerk.flowbuilder.test$").decode()
    hosted_config(page, clerkPublishableKey=publishable, clerkScriptUrl="/clerk-standin.js")
    page.route(
        "**/clerk-standin.js",
        lambda route: route.fulfill(body=CLERK_STANDIN % json.dumps(token), content_type="text/javascript"),
    )
    page.goto("/")

    page.get_by_role("button", name="Sign in", exact=True).click()

    expect(page.get_by_test_id("whoami")).to_contain_text("ada@example.com")
    expect(page.get_by_role("heading", name="Workflows")).to_be_visible()
    assert any(r.path == "/.well-known/jwks.json" for r in clerk_jwks.received)
    me = httpx.get(f"{dev_server.url}/api/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert (me["kind"], me["email"]) == ("user", "ada@example.com")
