"""Seed 001: the harmless quirks that make strict clients fail must not stop
Tether, and the unsafe answers must. Against FakeOAuth (fakes.py), a fake MCP
server that is its own quirky authorization server."""

from __future__ import annotations

import json
import os

import pytest

from bridge import INIT, RawBridge
from fakes import FakeOAuth
from test_oauth import Browser, tether

pytestmark = pytest.mark.skipif(
    not os.environ.get("DBUS_SESSION_BUS_ADDRESS"),
    reason="needs a Secret Service: tests/run runs the tests in a D-Bus session with gnome-keyring",
)


@pytest.fixture
def fake():
    with FakeOAuth() as f:
        yield f


def sign_in(fake: FakeOAuth, home, browser: Browser, *args: str) -> dict:
    with RawBridge("run", fake.url, "--auth-timeout", "10", *args, home=home, env=browser.env) as b:
        b.send(INIT)
        return b.recv_response(0, timeout=40)


def paths(fake: FakeOAuth) -> list[str]:
    return [s.path for s in fake.seen]


def test_quirky_registration_and_token_answers_are_accepted(fake, home, tmp_path):
    fake.quirky = True
    reply = sign_in(fake, home, Browser(tmp_path))
    assert reply["result"]["serverInfo"]["name"] == "fake-mcp"
    assert paths(fake).count("/token") == 1
    assert paths(fake).count("/register") == 1


def test_metadata_of_another_issuer_is_refused_before_the_browser(fake, home, tmp_path):
    fake.issuer_in_metadata = "https://evil.example"
    browser = Browser(tmp_path)
    err = sign_in(fake, home, browser)["error"]
    assert "says its issuer is https://evil.example" in err["message"]
    assert browser.opened() == [] and "/token" not in paths(fake)


def test_an_authorization_server_without_pkce_s256_is_refused(fake, home, tmp_path):
    fake.pkce_methods = ["plain"]
    browser = Browser(tmp_path)
    err = sign_in(fake, home, browser)["error"]
    assert "does not advertise PKCE with S256" in err["message"]
    assert browser.opened() == [] and "/register" not in paths(fake)


def test_a_resource_of_another_origin_is_refused(fake, home, tmp_path):
    fake.resource = "https://evil.example/mcp"
    browser = Browser(tmp_path)
    err = sign_in(fake, home, browser)["error"]
    assert 'claims to protect "https://evil.example/mcp"' in err["message"]
    assert browser.opened() == [] and "/.well-known/oauth-authorization-server" not in paths(fake)


def test_an_authorization_endpoint_that_is_not_https_is_refused(fake, home, tmp_path):
    fake.authorization_endpoint = "http://login.example.com/authorize"
    browser = Browser(tmp_path)
    err = sign_in(fake, home, browser)["error"]
    assert "is not https" in err["message"]
    assert browser.opened() == []


def test_a_callback_naming_another_issuer_is_refused_and_the_code_not_redeemed(fake, home, tmp_path):
    fake.iss_in_callback = "https://evil.example"
    browser = Browser(tmp_path)
    err = sign_in(fake, home, browser)["error"]
    assert "names the issuer" in err["message"] and "RFC 9207" in err["message"]
    assert len(browser.opened()) == 1 and "/token" not in paths(fake)


def test_a_callback_without_the_iss_the_server_promised_is_refused(fake, home, tmp_path):
    fake.iss_supported = True
    fake.omit_iss = True
    browser = Browser(tmp_path)
    err = sign_in(fake, home, browser)["error"]
    assert "promises an `iss`" in err["message"]
    assert "/token" not in paths(fake)


def test_a_callback_with_the_wrong_state_is_ignored_and_the_code_not_redeemed(fake, home, tmp_path):
    fake.state_in_callback = "forged-state"
    browser = Browser(tmp_path)
    # The forged callback is answered and ignored; the real one never comes,
    # so the sign-in times out after 10 s and the bridge answers for the
    # server (issue 13: Claude never times out on a sign-in).
    reply = sign_in(fake, home, browser)
    assert reply["result"]["capabilities"]["tools"]["listChanged"] is True, reply
    assert "/token" not in paths(fake), "the code was not redeemed"
    assert len(browser.opened()) == 1
    r = tether("status", fake.url, "--json", home=home)
    row = json.loads(r.stdout)["servers"][0]
    assert row["state"] == "needs-sign-in", row
    assert "nobody completed the sign-in in the browser within 10 s" in (row["bridge"] or {}).get("last_error", ""), row
