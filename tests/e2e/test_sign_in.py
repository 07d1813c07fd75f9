"""Sign in once, for every MCP client (issue 13), against the oidc-provider
peer (rotating refresh tokens, oauth_peer.py) with a scripted browser.

- Every bridge answers `initialize` within `--sign-in-wait`, whether its
  process runs the sign-in or joins another's; one browser tab, one
  authorization request, however many bridges start.
- The sign-in belongs to a detached broker (`tether sign-in-broker`), so it
  outlives the bridges; a bridge started while it is open joins it.
- Nothing opens the browser by itself after a sign-in was ignored, or
  after one ended in the background (a revoked grant); the next one comes
  from a person (the `tether_sign_in` tool, `tether login`), and the tool is
  capped per day.
- Bridges and `tether token` (a headers helper run per request) share one
  refresh per expiry of a 20-second token, with no invalid_grant.
- Claude Code's HTTP entry (`tether install --http`) runs `tether token` as
  its headersHelper, and the server takes what it prints.

The time windows are shortened for the tests with `--auth-timeout` and the
environment variables `TETHER_SIGN_IN_CAP` and `TETHER_SIGN_IN_WINDOW`
(README, "How Tether signs in")."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from bridge import INIT, INITIALIZED, RawBridge
from oauth_peer import OAuthMcp
from test_oauth import call, stored_tokens, tether

E2E = Path(__file__).resolve().parent

pytestmark = pytest.mark.skipif(
    not os.environ.get("DBUS_SESSION_BUS_ADDRESS"),
    reason="needs a Secret Service: tests/run runs the tests in a D-Bus session with gnome-keyring",
)


class ScriptedBrowser:
    """$BROWSER: notes every launch at once (`<epoch> launch <url>`), then
    after `delay` seconds follows the sign-in as fake_browser.py does, or,
    with `never`, leaves the page unanswered, as a person who looked away."""

    def __init__(self, tmp_path: Path, delay: float = 0, never: bool = False) -> None:
        self.launch_log = tmp_path / "launches.log"
        self.steps_log = tmp_path / "browser.log"
        self.path = tmp_path / "scripted-browser.sh"
        follow = "" if never else f'(sleep {delay}; exec "{sys.executable}" "{E2E / "fake_browser.py"}" "$1") >/dev/null 2>&1 &\n'
        self.path.write_text(f'#!/bin/sh\necho "$(date +%s.%N) launch $1" >> "{self.launch_log}"\n{follow}')
        self.path.chmod(0o755)

    @property
    def env(self) -> dict[str, str]:
        return {"BROWSER": str(self.path), "FAKE_BROWSER_LOG": str(self.steps_log)}

    def launches(self) -> list[str]:
        if not self.launch_log.exists():
            return []
        return [line.split(" launch ", 1)[1] for line in self.launch_log.read_text().splitlines()]


def tools_of(reply: dict) -> list[str]:
    return [t["name"] for t in reply["result"]["tools"]]


def list_tools(rid: int) -> dict:
    return {"jsonrpc": "2.0", "id": rid, "method": "tools/list"}


def wait_for(b: RawBridge, method: str, timeout: float) -> dict:
    """The next message of `method` from the bridge (others are kept)."""
    for m in b.other:
        if isinstance(m, dict) and m.get("method") == method:
            b.other.remove(m)
            return m
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            m = b.recv(timeout=max(0.1, deadline - time.monotonic()))
        except Exception:  # noqa: BLE001 - queue.Empty: checked below
            continue
        if isinstance(m, dict) and m.get("method") == method:
            return m
        b.other.append(m)
    raise AssertionError(f"no {method} within {timeout} s; stderr:\n{b.stderr.decode(errors='replace')[-3000:]}")


def tool_text(reply: dict) -> str:
    return reply["result"]["content"][0]["text"]


def status_of(home: Path, name: str) -> dict:
    r = tether("status", name, "--json", home=home)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["servers"][0]


def revoke_refresh_token(peer: OAuthMcp, tokens: dict) -> None:
    """The user revokes the grant at the authorization server (RFC 7009)."""
    meta = json.loads(urllib.request.urlopen(f"{peer.issuer}/.well-known/oauth-authorization-server").read())
    body = urllib.parse.urlencode({"token": tokens["refresh_token"], "token_type_hint": "refresh_token", "client_id": tokens["client_id"]}).encode()
    urllib.request.urlopen(urllib.request.Request(meta["revocation_endpoint"], data=body))


def wait_until(what: str, check, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.2)


@pytest.fixture
def peer(everything_http):
    with OAuthMcp(everything_http, access_ttl=60) as p:
        yield p


@pytest.fixture(autouse=True)
def no_broker_left(home):
    """A broker a test leaves behind (a sign-in nobody completes) is ended."""
    yield
    for board in (home / "state" / "sign-in").glob("*.json"):
        current = json.loads(board.read_text()).get("current") or {}
        pid = current.get("pid")
        if current.get("outcome") == "open" and pid:
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"sign-in-broker" in cmdline:
                os.kill(pid, signal.SIGTERM)


# --- many bridges, one sign-in ------------------------------------------------------


@pytest.mark.timeout(300)
def test_six_bridges_on_a_clean_home_answer_in_time_and_share_one_sign_in_that_outlives_the_bridges(peer, home, tmp_path):
    browser = ScriptedBrowser(tmp_path, delay=90)
    wait = 20
    args = ("run", peer.mcp_url, "--sign-in-wait", str(wait))
    bridges = [RawBridge(*args, home=home, env=browser.env) for _ in range(6)]
    try:
        started = time.monotonic()
        for b in bridges:
            b.send(INIT)
        answered = []
        for b in bridges:
            reply = b.recv_response(0, timeout=wait + 15)
            answered.append(round(time.monotonic() - started, 1))
            assert reply["result"]["serverInfo"], reply
        assert max(answered) <= wait + 3, f"every bridge answers initialize within --sign-in-wait: {answered}"
        for b in bridges:
            b.send(INITIALIZED)
            b.send(list_tools(1))
            assert tools_of(b.recv_response(1, timeout=10)) == ["tether_sign_in"]
        # Claude gives up on two of them and starts them again: the sign-in
        # goes on without them, and the new ones join it.
        for b in bridges[:2]:
            b.stop()
        t0 = time.monotonic()
        bridges[:2] = [RawBridge(*args, home=home, env=browser.env) for _ in range(2)]
        for b in bridges[:2]:
            b.send(INIT)
        for b in bridges[:2]:
            assert b.recv_response(0, timeout=wait + 15)["result"]
            assert time.monotonic() - t0 <= wait + 3
            b.send(INITIALIZED)
        # The person finishes in the browser, 90 s after it opened.
        for b in bridges:
            wait_for(b, "notifications/tools/list_changed", timeout=150)
        for n, b in enumerate(bridges):
            b.send(list_tools(10 + n))
            assert "echo" in tools_of(b.recv_response(10 + n, timeout=30))
            b.send(call(20 + n))
            assert tool_text(b.recv_response(20 + n, timeout=30)) == "Echo: hi"
        # A bridge started now finds the token: no browser at all.
        with RawBridge(*args, home=home, env=browser.env) as late:
            late.initialize()
            late.send(call(1))
            assert tool_text(late.recv_response(1, timeout=30)) == "Echo: hi"
    finally:
        for b in bridges:
            b.stop()
    assert len(browser.launches()) == 1, browser.launches()
    stats = peer.stats()
    assert stats["authorization_requests"] == 1
    assert stats["registrations"] == 1
    assert stats["token"]["authorization_code"]["ok"] == 1


def test_a_sign_in_nobody_completes_opens_the_browser_once_and_the_tool_is_capped(peer, home, tmp_path):
    browser = ScriptedBrowser(tmp_path, never=True)
    # The cap's day, shortened: at most 2 unanswered tabs per 10 minutes.
    env = {**browser.env, "TETHER_SIGN_IN_CAP": "2", "TETHER_SIGN_IN_WINDOW": "600"}
    args = ("run", peer.mcp_url, "--sign-in-wait", "3", "--auth-timeout", "10")
    # Clients start and restart their bridges, three at a time, for 30 s:
    # across three deadlines of the sign-in (10 s each).
    deadline = time.monotonic() + 30
    rounds = 0
    while time.monotonic() < deadline:
        batch = [RawBridge(*args, home=home, env=env) for _ in range(3)]
        try:
            t0 = time.monotonic()
            for b in batch:
                b.send(INIT)
            for b in batch:
                assert b.recv_response(0, timeout=15)["result"]
                assert time.monotonic() - t0 <= 3 + 3, "initialize is answered within --sign-in-wait"
                b.send(INITIALIZED)
                b.send(list_tools(1))
                assert tools_of(b.recv_response(1, timeout=10)) == ["tether_sign_in"]
            time.sleep(2)
        finally:
            for b in batch:
                b.stop()
        rounds += 1
    assert rounds >= 4
    assert len(browser.launches()) == 1, f"one tab in {rounds} rounds of bridges: {browser.launches()}"
    assert peer.stats()["authorization_requests"] == 0, "nobody followed it"
    row = status_of(home, peer.mcp_url)
    assert row["state"] == "needs-sign-in", row

    # A person asks, through the sign-in tool: one more tab, and asking
    # again while it is open names it rather than opening another.
    with RawBridge(*args, home=home, env=env) as b:
        b.initialize()
        b.send(call(2, name="tether_sign_in"))
        text = tool_text(b.recv_response(2, timeout=15))
        assert "opened the sign-in page in your browser" in text, text
        b.send(call(3, name="tether_sign_in"))
        text = tool_text(b.recv_response(3, timeout=15))
        assert "is waiting for you" in text and "127.0.0.1" in text, text
        assert len(browser.launches()) == 2
        # It is not completed either: the cap (2 a window) is reached.
        wait_until("the second sign-in ends", lambda: status_of(home, peer.mcp_url)["state"] == "needs-sign-in", 20)
        b.send(call(4, name="tether_sign_in"))
        text = tool_text(b.recv_response(4, timeout=15))
        assert "did not open the browser" in text and "2 times" in text and "tether login" in text, text
        # Every request still gets an answer.
        b.send(list_tools(5))
        assert tools_of(b.recv_response(5, timeout=10)) == ["tether_sign_in"]
    assert len(browser.launches()) == 2


# --- one refresher per credential ------------------------------------------------


def test_bridges_and_a_headers_helper_across_expiries_of_a_20_second_token_refresh_once_per_expiry(everything_http, home, tmp_path):
    ttl = 20
    with OAuthMcp(everything_http, access_ttl=ttl) as peer:
        browser = ScriptedBrowser(tmp_path)
        assert tether("add", "srv", peer.mcp_url, home=home).returncode == 0
        r = tether("login", "srv", home=home, env=browser.env)
        assert r.returncode == 0, r.stderr
        peer.reset()
        duration = 65
        errors: list = []
        helper_runs: list[int] = []
        bridges = [RawBridge("run", "srv", home=home, env=browser.env) for _ in range(3)]

        def bridge_work(b: RawBridge, n: int) -> None:
            try:
                b.initialize()
                end = time.monotonic() + duration
                i = 0
                while time.monotonic() < end:
                    b.send(call(100 + i))
                    reply = b.recv_response(100 + i, timeout=30)
                    if "error" in reply:
                        errors.append((f"bridge {n}", reply["error"]))
                    i += 1
                    time.sleep(1)
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append((f"bridge {n}", repr(e)))

        def helper_work() -> None:
            # What an HTTP client with a headers helper does per request:
            # run `tether token`, send what it printed.
            end = time.monotonic() + duration
            while time.monotonic() < end:
                out = tether("token", "srv", "--header=json", home=home, env=browser.env)
                if out.returncode != 0:
                    errors.append(("helper", out.stderr))
                    time.sleep(1)
                    continue
                headers = json.loads(out.stdout)
                req = urllib.request.Request(
                    peer.mcp_url,
                    data=json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).encode(),
                    headers={**headers, "content-type": "application/json", "accept": "application/json, text/event-stream"},
                )
                try:
                    with urllib.request.urlopen(req, timeout=10) as res:
                        helper_runs.append(res.status)
                except urllib.error.HTTPError as e:
                    # server-everything wants a session (400): the token got past the resource server.
                    helper_runs.append(e.code)
                time.sleep(0.5)

        threads = [threading.Thread(target=bridge_work, args=(b, n)) for n, b in enumerate(bridges)]
        threads.append(threading.Thread(target=helper_work))
        started = time.monotonic()
        try:
            for t in threads:
                t.start()
            for t in threads:
                t.join(duration + 60)
        finally:
            for b in bridges:
                b.stop()
        elapsed = time.monotonic() - started
        stats = peer.stats()
    assert errors == []
    assert helper_runs and not any(code in (401, 403) for code in helper_runs), helper_runs
    assert stats["mcp"]["rejected"] == 0, "no request was sent with a dead token"
    outcomes = [e["outcome"] for e in stats["refresh_events"]]
    assert "invalid_grant" not in outcomes and set(outcomes) == {"ok"}, outcomes
    # A 20 s token is refreshed half-way through its life, once, whoever
    # asks: about one refresh per 10 s (four processes refreshing on their
    # own would make several per period, and burn the rotating token).
    periods = elapsed / (ttl / 2)
    assert periods - 2 <= len(outcomes) <= periods + 1, (len(outcomes), periods)
    times = [e["t"] for e in stats["refresh_events"]]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert min(gaps) > (ttl / 2) * 1000 * 0.6, f"two refreshes for one token: {gaps}"
    assert len(browser.launches()) == 1, "only the login opened a browser"


# --- a sign-in that ends in the background ------------------------------------------


def test_a_grant_revoked_while_bridges_are_idle_opens_no_browser_until_a_person_acts(everything_http, home, tmp_path):
    with OAuthMcp(everything_http, access_ttl=10) as peer:
        browser = ScriptedBrowser(tmp_path)
        assert tether("add", "srv", peer.mcp_url, home=home).returncode == 0
        assert tether("login", "srv", home=home, env=browser.env).returncode == 0
        assert status_of(home, "srv")["state"] == "signed-in"
        idle = [RawBridge("run", "srv", home=home, env=browser.env) for _ in range(2)]
        try:
            for b in idle:
                b.initialize()
            revoke_refresh_token(peer, stored_tokens(home))
            # The bridges' timers refresh half-way through the 10 s token and
            # are refused: the sign-in ended, in the background.
            wait_until("a refused refresh", lambda: any(e["outcome"] == "invalid_grant" for e in peer.stats()["refresh_events"]), 20)
            time.sleep(6)  # idle past the token's expiry
            assert len(browser.launches()) == 1, "no browser opened by itself"
            row = status_of(home, "srv")
            assert row["state"] == "needs-sign-in", row
            # A request meets it: an answer that says how to sign in, no tab.
            idle[0].send(call(1))
            error = idle[0].recv_response(1, timeout=30)["error"]
            assert "tether login srv" in error["message"], error
            # A client restarts its bridge (after sleep, say): answered at
            # once with the sign-in tool, still no tab.
            with RawBridge("run", "srv", "--sign-in-wait", "20", home=home, env=browser.env) as fresh:
                t0 = time.monotonic()
                fresh.send(INIT)
                assert fresh.recv_response(0, timeout=10)["result"]
                assert time.monotonic() - t0 < 5, "refused at once, not after --sign-in-wait"
                fresh.send(INITIALIZED)
                fresh.send(list_tools(1))
                assert tools_of(fresh.recv_response(1, timeout=10)) == ["tether_sign_in"]
                assert len(browser.launches()) == 1
                # A person acts: the sign-in tool opens the page, once.
                fresh.send(call(2, name="tether_sign_in"))
                assert "opened the sign-in page" in tool_text(fresh.recv_response(2, timeout=15))
                wait_for(fresh, "notifications/tools/list_changed", timeout=30)
                fresh.send(call(3))
                assert tool_text(fresh.recv_response(3, timeout=30)) == "Echo: hi"
            # The idle bridges' sessions go on with the new token.
            idle[1].send(call(4))
            assert tool_text(idle[1].recv_response(4, timeout=30)) == "Echo: hi"
        finally:
            for b in idle:
                b.stop()
        assert len(browser.launches()) == 2
        assert status_of(home, "srv")["state"] == "signed-in"


def test_tether_token_never_opens_a_browser_unless_asked_and_never_prints_a_refresh_token(peer, home, tmp_path):
    browser = ScriptedBrowser(tmp_path)
    r = tether("token", peer.mcp_url, home=home, env=browser.env)
    assert r.returncode == 1 and "needs sign-in" in r.stderr and "tether login" in r.stderr, r.stderr
    assert browser.launches() == []
    r = tether("token", peer.mcp_url, "--sign-in", home=home, env=browser.env)
    assert r.returncode == 0, r.stderr
    assert len(browser.launches()) == 1
    tokens = stored_tokens(home)
    assert r.stdout.strip() == tokens["access_token"]
    line = tether("token", peer.mcp_url, "--header", home=home).stdout.strip()
    assert line == f"Authorization: Bearer {tokens['access_token']}"
    for out in (r.stdout, line):
        assert tokens["refresh_token"] not in out


# --- Claude Code talks HTTP itself ---------------------------------------------------------


def test_claude_code_s_http_entry_runs_tether_token_as_its_headers_helper(peer, home, tmp_path):
    browser = ScriptedBrowser(tmp_path)
    assert tether("add", "srv", peer.mcp_url, home=home).returncode == 0
    assert tether("login", "srv", home=home, env=browser.env).returncode == 0
    clients_home = tmp_path / "clients"
    clients_home.mkdir()
    r = tether("install", "srv", "--client", "claude-code", "--http", f"--home={clients_home}", home=home)
    assert r.returncode == 0, r.stderr
    entry = json.loads((clients_home / ".claude.json").read_text())["mcpServers"]["srv"]
    assert entry["type"] == "http" and entry["url"] == peer.mcp_url, entry
    assert entry["headersHelper"].endswith(" token srv --header=json"), entry
    # Claude Code runs the helper through a shell and sends the JSON object
    # it prints as headers.
    out = subprocess.run(
        entry["headersHelper"], shell=True, capture_output=True, text=True, timeout=30,
        env={**os.environ, "TETHER_HOME": str(home)},
    )
    assert out.returncode == 0, out.stderr
    headers = json.loads(out.stdout)
    tokens = stored_tokens(home)
    assert headers == {"Authorization": f"Bearer {tokens['access_token']}"}
    assert tokens["refresh_token"] not in out.stdout
    init = {**INIT, "id": 1}
    req = urllib.request.Request(
        peer.mcp_url,
        data=json.dumps(init).encode(),
        headers={**headers, "content-type": "application/json", "accept": "application/json, text/event-stream"},
    )
    with urllib.request.urlopen(req, timeout=10) as res:
        assert res.status == 200
        assert "serverInfo" in res.read().decode()
    # Clients without such a hook are refused, and told why.
    r = tether("install", "srv", "--client", "cursor", "--http", f"--home={clients_home}", home=home)
    assert r.returncode == 1 and "cannot run a program for a server's headers" in r.stderr, r.stderr
    # Uninstall finds the HTTP entry as Tether's own.
    r = tether("uninstall", "srv", f"--home={clients_home}", home=home)
    assert r.returncode == 0, r.stderr
    assert "srv" not in json.loads((clients_home / ".claude.json").read_text())["mcpServers"]
