"""Tether's OAuth client against a real authorization server: oidc-provider
(certified) in front of the official server-everything (oauth_peer.py), with a
scripted browser (fake_browser.py) and the real Secret Service (tests/run runs
the tests in a D-Bus session with gnome-keyring).

Every test has its own TETHER_HOME, which also names its keychain namespace."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import mcp.types as types
import pytest

from bridge import INIT, INITIALIZED, RawBridge, tether_bin
from conftest import keychain, keychain_secret, sdk_client
from fakes import FakeMcp
from oauth_peer import OAuthMcp

E2E = Path(__file__).resolve().parent

pytestmark = pytest.mark.skipif(
    not os.environ.get("DBUS_SESSION_BUS_ADDRESS"),
    reason="needs a Secret Service: tests/run runs the tests in a D-Bus session with gnome-keyring",
)


# --- helpers ----------------------------------------------------------------------


class Browser:
    """The scripted browser as $BROWSER, with its log."""

    def __init__(self, tmp_path: Path, delay: float = 0) -> None:
        self.log = tmp_path / "browser.log"
        self.path = E2E / "fake_browser.py"
        if delay:
            wrapper = tmp_path / "slow-browser.sh"
            wrapper.write_text(f'#!/bin/sh\n(sleep {delay}; exec "{sys.executable}" "{self.path}" "$@") >/dev/null 2>&1 &\n')
            wrapper.chmod(0o755)
            self.path = wrapper

    @property
    def env(self) -> dict[str, str]:
        return {"BROWSER": str(self.path), "FAKE_BROWSER_LOG": str(self.log)}

    def opened(self) -> list[str]:
        if not self.log.exists():
            return []
        return [line for line in self.log.read_text().splitlines() if " open " in line]


def tether(*args: str, home: Path, env: dict[str, str] | None = None, input: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [tether_bin(), *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "TETHER_HOME": str(home), **(env or {})},
    )




def server_key(home: Path) -> str:
    keys = [p.stem for p in (home / "state" / "servers").glob("*.json")]
    assert len(keys) == 1, keys
    return keys[0]


def stored_tokens(home: Path) -> dict:
    value = keychain(home, f"tokens:{server_key(home)}")
    assert value, "the tokens are in the keychain"
    return json.loads(value)


def call(rid, name="echo", **arguments):
    return {"jsonrpc": "2.0", "id": rid, "method": "tools/call", "params": {"name": name, "arguments": arguments or {"message": "hi"}}}


@pytest.fixture
def peer(everything_http):
    with OAuthMcp(everything_http, access_ttl=60) as p:
        yield p


def signed_in(peer: OAuthMcp, home: Path, browser: Browser) -> None:
    r = tether("login", peer.mcp_url, home=home, env=browser.env)
    assert r.returncode == 0, r.stderr


# --- first sign-in --------------------------------------------------------------


@pytest.mark.anyio
async def test_a_first_sign_in_from_the_client_opens_the_browser_once_and_the_tools_work(peer, home, tmp_path):
    browser = Browser(tmp_path)
    async with sdk_client(peer.mcp_url, home=home, env=browser.env) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert "echo" in names
        result = await client.call_tool("echo", {"message": "signed in"})
        assert result.content[0].text == "Echo: signed in"
    assert len(browser.opened()) == 1
    stats = peer.stats()
    assert stats["registrations"] == 1
    assert stats["token"]["authorization_code"]["ok"] == 1
    auth = stats["requests"]["auth"][0]
    assert auth["resource"] == peer.mcp_url, "RFC 8707: the resource is the MCP server, exactly as its metadata says"
    assert "mcp:tools" in auth["scope"].split()
    assert all(t["resource"] == peer.mcp_url for t in stats["requests"]["token"])


@pytest.mark.anyio
async def test_a_second_run_reuses_the_client_and_the_tokens_without_a_browser(peer, home, tmp_path):
    browser = Browser(tmp_path)
    signed_in(peer, home, browser)
    async with sdk_client(peer.mcp_url, home=home, env=browser.env) as client:
        await client.call_tool("echo", {"message": "again"})
    async with sdk_client(peer.mcp_url, home=home, env=browser.env) as client:
        await client.call_tool("echo", {"message": "and again"})
    assert len(browser.opened()) == 1, "only the login opened a browser"
    assert peer.stats()["registrations"] == 1, "the registered client is reused, not registered on every run"


def test_concurrent_first_sign_ins_open_one_browser_window_and_register_one_client(peer, home, tmp_path):
    browser = Browser(tmp_path)
    bridges = [RawBridge("run", peer.mcp_url, home=home, env=browser.env) for _ in range(4)]
    try:
        for b in bridges:
            b.send(INIT)
        for b in bridges:
            assert b.recv_response(0, timeout=60)["result"]["serverInfo"]
            b.send(INITIALIZED)
            b.send(call(1))
            assert b.recv_response(1, timeout=30)["result"]["content"][0]["text"] == "Echo: hi"
    finally:
        for b in bridges:
            b.stop()
    assert len(browser.opened()) == 1
    stats = peer.stats()
    assert stats["registrations"] == 1
    assert stats["token"]["authorization_code"]["ok"] == 1


# --- tokens stay in the keychain ---------------------------------------------------


def test_tokens_are_only_in_the_keychain_never_in_files_logs_stderr_or_arguments(peer, home, tmp_path):
    browser = Browser(tmp_path)
    with RawBridge("run", peer.mcp_url, "--debug", home=home, env=browser.env) as b:
        b.initialize()
        b.send(call(1))
        b.recv_response(1, timeout=30)
        cmdline = Path(f"/proc/{b.proc.pid}/cmdline").read_bytes()
        environ = Path(f"/proc/{b.proc.pid}/environ").read_bytes()
        b.close_stdin()
        b.wait(10)
        stderr = b.stderr
        stdout = b"".join(b.stdout_raw)
    tokens = stored_tokens(home)
    secrets = [tokens["access_token"], tokens["refresh_token"]]
    assert all(len(s) > 20 for s in secrets)
    places = {"stderr": stderr, "stdout": stdout, "arguments": cmdline, "environment": environ}
    for path in home.rglob("*"):
        if path.is_file():
            places[str(path)] = path.read_bytes()
    assert any("logs" in p for p in places), "the log file was scanned"
    for where, data in places.items():
        for s in secrets:
            assert s.encode() not in data, f"a token is in {where}"


def test_status_shows_the_sign_in_with_the_token_masked(peer, home, tmp_path):
    signed_in(peer, home, Browser(tmp_path))
    r = tether("status", "--json", home=home)
    assert r.returncode == 0, r.stderr
    row = json.loads(r.stdout)["servers"][0]
    token = stored_tokens(home)["access_token"]
    assert row["signed_in"] is True
    assert row["issuer"] == peer.issuer
    assert row["scopes"] and "mcp:tools" in row["scopes"]
    assert row["access_token"] == f"{token[:4]}…{token[-3:]}"
    assert row["stored_in"].startswith("Secret Service")
    assert token not in r.stdout
    text = tether("status", home=home)
    assert "signed in, token" in text.stdout and token not in text.stdout


# --- refresh ---------------------------------------------------------------------


def test_the_access_token_is_refreshed_in_the_background_before_it_expires(everything_http, home, tmp_path):
    with OAuthMcp(everything_http, access_ttl=10) as peer:
        browser = Browser(tmp_path)
        with RawBridge("run", peer.mcp_url, home=home, env=browser.env) as b:
            b.initialize()
            b.send(call(1))
            b.recv_response(1, timeout=30)
            accepted = peer.stats()["mcp"]["accepted"]
            first = stored_tokens(home)
            # Half-way through a short life the timer refreshes, with no request.
            deadline = time.monotonic() + 15
            while not peer.stats()["refresh_events"] and time.monotonic() < deadline:
                time.sleep(0.25)
            stats = peer.stats()
            assert [e["outcome"] for e in stats["refresh_events"]] == ["ok"]
            assert stats["mcp"]["accepted"] == accepted, "the refresh came from the timer, not from a request"
            second = stored_tokens(home)
            assert second["refresh_token"] != first["refresh_token"], "the rotated refresh token was saved"
            assert second["access_token"] != first["access_token"]
            b.send(call(2))
            assert b.recv_response(2, timeout=30)["result"]
        assert peer.stats()["mcp"]["rejected"] == 1, "only the very first, unauthenticated request was refused"


def test_six_bridges_across_several_expiries_refresh_once_per_expiry_without_invalid_grant(everything_http, home, tmp_path):
    ttl = 8
    with OAuthMcp(everything_http, access_ttl=ttl) as peer:
        browser = Browser(tmp_path)
        signed_in(peer, home, browser)
        peer.reset()
        bridges = [RawBridge("run", peer.mcp_url, home=home, env=browser.env) for _ in range(6)]
        errors: list = []

        def work(b: RawBridge, n: int) -> None:
            try:
                b.initialize()
                for i in range(26):
                    b.send(call(100 + i))
                    reply = b.recv_response(100 + i, timeout=30)
                    if "error" in reply:
                        errors.append((n, reply["error"]))
                    time.sleep(1)
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append((n, repr(e)))

        threads = [threading.Thread(target=work, args=(b, n)) for n, b in enumerate(bridges)]
        started = time.monotonic()
        try:
            for t in threads:
                t.start()
            for t in threads:
                t.join(120)
        finally:
            for b in bridges:
                b.stop()
        elapsed = time.monotonic() - started
        stats = peer.stats()
    assert errors == []
    outcomes = [e["outcome"] for e in stats["refresh_events"]]
    assert "invalid_grant" not in outcomes and set(outcomes) == {"ok"}, outcomes
    # A token is refreshed half-way through its 8 s life: about one refresh
    # per 4 s, whatever the number of bridges (six processes refreshing on
    # their own would make six times as many).
    periods = elapsed / (ttl / 2)
    assert 3 <= len(outcomes) <= periods + 2, (len(outcomes), periods)
    times = [e["t"] for e in stats["refresh_events"]]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert min(gaps) > 2000, f"two refreshes for one expiry: {gaps}"
    assert len(browser.opened()) == 1, "nobody had to sign in again"


def test_a_refresh_token_the_server_revoked_waits_for_a_person_then_the_session_goes_on(peer, home, tmp_path):
    """A sign-in that ends in the background (the grant revoked at the
    authorization server) opens no browser by itself: the request that met
    it says how to sign in, and once a person has (`tether login`), the same
    session works again."""
    browser = Browser(tmp_path)
    with RawBridge("run", peer.mcp_url, home=home, env=browser.env) as b:
        b.initialize()
        b.send(call(1))
        b.recv_response(1, timeout=30)
        tokens = stored_tokens(home)
        # The user revokes the grant at the authorization server (RFC 7009):
        # the access and refresh tokens both die.
        meta = json.loads(urllib.request.urlopen(f"{peer.issuer}/.well-known/oauth-authorization-server").read())
        body = urllib.parse.urlencode({"token": tokens["refresh_token"], "token_type_hint": "refresh_token", "client_id": tokens["client_id"]}).encode()
        urllib.request.urlopen(urllib.request.Request(meta["revocation_endpoint"], data=body))
        b.send(call(2))
        error = b.recv_response(2, timeout=60)["error"]
        assert error["data"]["reason"] == "sign-in-required", error
        assert "tether login" in error["message"] and "Tether menu" in error["message"], error
        time.sleep(1)
        assert len(browser.opened()) == 1, "no browser opened by itself"
        r = tether("login", peer.mcp_url, home=home, env=browser.env)
        assert r.returncode == 0, r.stderr
        b.send(call(3))
        assert b.recv_response(3, timeout=60)["result"]["content"][0]["text"] == "Echo: hi"
    assert len(browser.opened()) == 2, "the person's sign-in replaced the revoked grant"
    assert [e["outcome"] for e in peer.stats()["refresh_events"]] == ["invalid_grant"]
    assert stored_tokens(home)["refresh_token"] != tokens["refresh_token"]


# --- sign-in commands --------------------------------------------------------------


def test_logout_revokes_the_grant_and_removes_the_tokens(peer, home, tmp_path):
    signed_in(peer, home, Browser(tmp_path))
    key = server_key(home)
    assert keychain(home, f"tokens:{key}")
    r = tether("logout", peer.mcp_url, home=home)
    assert r.returncode == 0, r.stderr
    assert "the tokens were revoked" in r.stderr
    assert peer.stats()["revocations"] == 1
    assert keychain(home, f"tokens:{key}") is None
    row = json.loads(tether("status", "--json", home=home).stdout)["servers"][0]
    assert row["signed_in"] is False


def test_login_without_a_browser_accepts_the_pasted_redirect(peer, home):
    proc = subprocess.Popen(
        [tether_bin(), "login", peer.mcp_url, "--no-browser"],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "TETHER_HOME": str(home), "BROWSER": "/bin/false"},
    )
    url = None
    assert proc.stderr is not None and proc.stdin is not None
    for line in proc.stderr:
        m = re.search(r"(http://127\.0\.0\.1:\d+/auth\?\S+)", line)
        if m:
            url = m.group(1)
            break
    assert url, "the authorization URL is printed"
    # The user's browser, on another machine: it follows the redirects and
    # ends on a 127.0.0.1 page it cannot load; the user copies that address.
    final = url
    for _ in range(10):
        req = urllib.request.Request(final)
        opener = urllib.request.build_opener(NoRedirect)
        try:
            opener.open(req)
            break
        except urllib.error.HTTPError as e:
            location = e.headers.get("location")
            if not location:
                raise
            final = urllib.parse.urljoin(final, location)
            if "/callback?" in final:
                break
    assert "/callback?code=" in final
    proc.stdin.write(final + "\n")
    proc.stdin.flush()
    assert proc.wait(30) == 0
    assert stored_tokens(home)["access_token"]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_device_code_login_works_when_the_server_offers_it(everything_http, home):
    with OAuthMcp(everything_http, device_flow=True) as peer:
        proc = subprocess.Popen(
            [tether_bin(), "login", peer.mcp_url, "--device-code"],
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "TETHER_HOME": str(home)},
        )
        code = None
        assert proc.stderr is not None
        for line in proc.stderr:
            m = re.search(r"enter the code (\S+)", line)
            if m:
                code = m.group(1)
                break
        assert code
        peer.approve_device(code)
        assert proc.wait(60) == 0
        assert stored_tokens(home)["access_token"]
        assert peer.stats()["device_authorizations"] == 1


@pytest.mark.anyio
async def test_a_client_id_metadata_document_is_used_instead_of_registering(everything_http, home, tmp_path):
    with OAuthMcp(everything_http, cimd=True) as peer:
        doc_url = "https://tether.test/client-metadata.json"
        document = json.loads((Path(__file__).resolve().parents[2] / "src-tauri/crates/tether/client-metadata.json").read_text())
        document["client_id"] = doc_url
        peer.add_client_metadata_document(document)
        browser = Browser(tmp_path)
        async with sdk_client(peer.mcp_url, "--client-metadata-url", doc_url, home=home, env=browser.env) as client:
            await client.call_tool("echo", {"message": "cimd"})
        stats = peer.stats()
        assert stats["registrations"] == 0
        assert stats["cimd_fetches"] >= 1
        assert stored_tokens(home)["client_id"] == doc_url


# --- the first sign-in takes longer than the client waits --------------------------


@pytest.mark.anyio
async def test_a_slow_first_sign_in_gets_a_sign_in_tool_then_the_real_tools(peer, home, tmp_path):
    browser = Browser(tmp_path, delay=6)
    changed = []

    async def on_message(message) -> None:
        if isinstance(message, types.ToolListChangedNotification) or getattr(message, "method", "") == "notifications/tools/list_changed":
            changed.append(message)

    started = time.monotonic()
    async with sdk_client(peer.mcp_url, "--sign-in-wait", "2", home=home, env=browser.env, message_handler=on_message) as client:
        assert time.monotonic() - started < 5, "initialize is answered before the sign-in is done"
        tools = [t.name for t in (await client.list_tools()).tools]
        assert tools == ["tether_sign_in"]
        result = await client.call_tool("tether_sign_in", {})
        assert "Sign-in to" in result.content[0].text
        deadline = time.monotonic() + 30
        while not changed and time.monotonic() < deadline:
            await anyio_sleep(0.2)
        assert changed, "the client is told the tools changed"
        names = {t.name for t in (await client.list_tools()).tools}
        assert "echo" in names
        assert (await client.call_tool("echo", {"message": "late"})).content[0].text == "Echo: late"
    assert len(browser.opened()) == 1


def test_the_authorization_url_with_its_state_stays_out_of_logs_and_out_of_the_model_s_view(peer, home, tmp_path):
    """Claude Desktop copies a server's stderr into its log, and a tool's
    result goes to the model: both name the sign-in's host, never the URL
    whose `state` the browser alone should see."""
    browser = Browser(tmp_path, delay=4)
    with RawBridge("run", peer.mcp_url, "--sign-in-wait", "1", home=home, env=browser.env) as b:
        b.initialize()
        b.send(call(1, name="tether_sign_in"))
        text = b.recv_response(1, timeout=30)["result"]["content"][0]["text"]
        deadline = time.monotonic() + 30
        while not browser.opened() and time.monotonic() < deadline:
            time.sleep(0.2)
        opened = browser.opened()
        b.close_stdin()
        b.wait(15)
        stderr = b.stderr.decode()
    assert opened, "the browser was sent to the authorization URL"
    url = urllib.parse.urlparse(opened[0].split(" open ", 1)[1])
    state = urllib.parse.parse_qs(url.query)["state"][0]
    assert url.hostname in text, text
    logs = "".join(p.read_text(errors="replace") for p in (home / "logs").glob("*.log"))
    for where, seen in {"the tool's result": text, "stderr": stderr, "the log file": logs}.items():
        assert state not in seen, f"the sign-in's state is in {where}"
        assert "/auth?" not in seen, f"the authorization URL is in {where}"


async def anyio_sleep(s: float) -> None:
    import anyio

    await anyio.sleep(s)


# --- a static token from the keychain -------------------------------------------------


def test_a_bearer_token_added_once_is_sent_from_the_keychain(home):
    secret = "static-token-7d1c9e"
    with FakeMcp() as fake:
        fake.require_token = secret
        r = tether("add", "corp", fake.url, "--bearer", home=home, input=secret + "\n")
        assert r.returncode == 0, r.stderr
        entry = json.loads(r.stdout)
        assert entry["corp"]["args"] == ["run", "corp"]
        with RawBridge("run", "corp", home=home) as b:
            b.initialize()
            b.send(call(1))
            assert b.recv_response(1)["result"]
        # `tether status` masks the token itself, not the keychain item that
        # keeps it with its origin.
        row = json.loads(tether("status", "corp", "--json", home=home).stdout)["servers"][0]
        assert row["access_token"] == f"{secret[:4]}…{secret[-3:]}", row["access_token"]
    config = (home / "config" / "servers.json").read_text()
    assert secret not in config
    assert keychain_secret(home, "bearer:corp") == secret
    assert json.loads(keychain(home, "bearer:corp"))["to"] == fake.origin, "bound to the server's origin"
    assert all(s.headers.get("authorization") == f"Bearer {secret}" for s in fake.seen)
    r = tether("remove", "corp", home=home)
    assert r.returncode == 0 and keychain(home, "bearer:corp") is None


def test_a_server_moved_to_a_new_url_keeps_its_token_when_asked_to(home):
    secret = "static-token-kept-4b8e0a"
    with FakeMcp() as old, FakeMcp() as elsewhere:
        old.require_token = secret
        r = tether("add", "corp", "http://127.0.0.1:9/mcp", "--keep-token", "--bearer", home=home)
        assert r.returncode != 0 and "no token to keep" in r.stderr, r.stderr
        assert tether("add", "corp", f"{old.origin}/old-mcp", "--bearer", home=home, input=secret + "\n").returncode == 0
        # A new path on the same origin: the token stays.
        r = tether("add", "corp", old.url, "--bearer", "--keep-token", home=home, input="")
        assert r.returncode == 0, r.stderr
        assert "Updated corp" in r.stderr
        with RawBridge("run", "corp", home=home) as b:
            b.initialize()
            b.send(call(1))
            assert b.recv_response(1)["result"]
        assert keychain_secret(home, "bearer:corp") == secret
        assert all(s.path == "/mcp" for s in old.seen), "the old path is not used any more"
        # Another origin: the token was given for this one, and is not kept.
        r = tether("add", "corp", elsewhere.url, "--bearer", "--keep-token", home=home, input="")
        assert r.returncode != 0 and "give the token again" in r.stderr, r.stderr
        assert json.loads((home / "config" / "servers.json").read_text())["servers"]["corp"]["url"] == old.url


def test_a_token_is_never_sent_where_the_server_list_was_edited_to_point(home):
    """servers.json can be edited by any program of the user's without a
    keychain prompt; the token is bound to its origin in the keychain."""
    secret = "static-token-bound-7c1d2e"
    with FakeMcp() as real, FakeMcp() as evil:
        real.require_token = secret
        assert tether("add", "corp", real.url, "--bearer", home=home, input=secret + "\n").returncode == 0
        path = home / "config" / "servers.json"
        listed = json.loads(path.read_text())
        listed["servers"]["corp"]["url"] = evil.url
        path.write_text(json.dumps(listed))
        with RawBridge("run", "corp", home=home) as b:
            b.send(INIT)
            answer = b.recv_response(0, timeout=30)
        assert "error" in answer and "was given for" in answer["error"]["message"], answer
        for seen in evil.seen:
            assert secret not in json.dumps(seen.headers), "the token reached the other server"


def test_without_a_keychain_sign_in_fails_with_a_message_that_says_so(peer, home, tmp_path):
    browser = Browser(tmp_path)
    env = {**browser.env, "DBUS_SESSION_BUS_ADDRESS": f"unix:path={tmp_path}/no-bus"}
    with RawBridge("run", peer.mcp_url, home=home, env=env) as b:
        b.send(INIT)
        err = b.recv_response(0, timeout=60)["error"]
    assert "no keychain is available" in err["message"]
    assert "gnome-keyring or KWallet" in err["message"]
    assert peer.stats()["token"].get("authorization_code", {}).get("ok", 0) == 0, "no token is obtained that could not be kept"
