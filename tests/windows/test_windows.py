"""The Windows lane: `tether.exe` (built for x86_64-pc-windows-gnu) under Wine,
driven over stdio the way Claude Desktop drives it, against the same real
peers as the Linux tests: the official server-everything (Streamable HTTP and
SSE), oidc-provider in front of it (tests/peers/oauth-mcp.mjs) with the
scripted browser as $BROWSER, and small fakes where a header must be seen.

Secrets go to Wine's Credential Manager (CredWriteW, the code real Windows
runs), read back here by creds.exe, a program of the test's own; file locks
are LockFileEx; Claude Desktop's config is under the Wine user's %APPDATA%
(and an MSIX package's LocalCache). tests/windows/run builds everything and
runs this file; wine.py explains the prefix. What Wine cannot show (the tray,
WebView2, restarting Claude Desktop) is listed in the README as untested."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from bridge import INIT, INITIALIZED, RawBridge, tether_bin
from conftest import anyio_backend, everything, everything_http, everything_sse, home, sdk_client  # noqa: F401 (fixtures)
from fakes import FakeMcp
from oauth_peer import OAuthMcp
from wine import LANE, Wine, winpath

E2E = Path(__file__).resolve().parents[1] / "e2e"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "clients"
FAKE_BROWSER = E2E / "fake_browser.py"
# Windows' limit on one credential's blob (CRED_MAX_CREDENTIAL_BLOB_SIZE).
CRED_MAX_BLOB = 5 * 512


@pytest.fixture(scope="session")
def wine(tmp_path_factory):
    exe = Path(os.environ.get("TETHER_WIN_EXE") or LANE / "tether.exe")
    support = Path(os.environ.get("TETHER_WIN_SUPPORT") or LANE)
    for needed in (exe, support / "bcryptprimitives.dll", support / "creds.exe"):
        if not needed.exists():
            pytest.exit(f"{needed} is missing; tests/windows/run builds it", 2)
    w = Wine(tmp_path_factory.mktemp("wine") / "prefix", exe, support)
    started = time.monotonic()
    w.boot()
    print(f"\nWine prefix ready in {time.monotonic() - started:.1f} s: {w.prefix}")
    old = os.environ.get("TETHER_BIN")
    os.environ["TETHER_BIN"] = str(w.bin)
    try:
        yield w
    finally:
        if old is None:
            os.environ.pop("TETHER_BIN", None)
        else:
            os.environ["TETHER_BIN"] = old
        w.shutdown()


@pytest.fixture(autouse=True)
def _wine(wine):
    """Every test runs tether.exe; a test that edits the Wine user's folders
    leaves them as it found them."""
    claude = [wine.appdata / "Claude", wine.local_appdata / "Packages"]
    yield
    for d in claude:
        shutil.rmtree(d, ignore_errors=True)


def tether(*args: str, home: Path, env: dict[str, str] | None = None, input: str | None = None, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run(
        [tether_bin(), *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "TETHER_HOME": str(home), **(env or {})},
    )


def bound_secret(value: str, origin: str) -> str:
    """The secret of a credential bound to `origin` (store::bound: a token
    is kept with where it may be sent, and refused anywhere else)."""
    item = json.loads(value)
    assert item["tether_bound"] == 1 and item["to"] == origin, {k: v for k, v in item.items() if k != "secret"}
    return item["secret"]


def call(rid, message="hi"):
    return {"jsonrpc": "2.0", "id": rid, "method": "tools/call", "params": {"name": "echo", "arguments": {"message": message}}}


class Browser:
    """The scripted browser (tests/e2e/fake_browser.py) as $BROWSER, named by
    its Windows path: tether.exe starts it with CreateProcess, and Wine runs a
    Unix script given that way."""

    def __init__(self, tmp_path: Path) -> None:
        self.log = tmp_path / "browser.log"

    @property
    def env(self) -> dict[str, str]:
        return {"BROWSER": winpath(FAKE_BROWSER), "FAKE_BROWSER_LOG": str(self.log)}

    def opened(self) -> list[str]:
        return [l for l in self.log.read_text().splitlines() if " open " in l] if self.log.exists() else []


# --- the bridge ----------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_bridge_serves_server_everything_to_the_official_client(everything, home):
    async with sdk_client(everything, home=home) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"echo", "get-sum"} <= names, names
        result = await client.call_tool("echo", {"message": "from Windows"})
        assert result.content[0].text == "Echo: from Windows"
        result = await client.call_tool("get-sum", {"a": 2, "b": 40})
        assert "42" in result.content[0].text
        assert (await client.list_prompts()).prompts


def test_stdout_carries_only_json_rpc_and_the_end_of_input_ends_the_bridge(everything_http, home):
    with RawBridge("run", everything_http, home=home) as b:
        reply = b.initialize()
        assert reply["result"]["serverInfo"]
        b.send_raw(b"this is not json\n")
        assert b.recv()["error"]["code"] == -32700
        b.send(call(1, "still here"))
        assert b.recv_response(1, timeout=30)["result"]["content"][0]["text"] == "Echo: still here"
        b.close_stdin()
        assert b.wait(15) == 0
        b.assert_stdout_is_json_rpc_only()


# --- a static token in the Credential Manager --------------------------------------------


def test_a_bearer_token_lives_in_the_credential_manager_from_add_to_remove(wine, home):
    secret = f"static-token-{secrets.token_hex(8)}"
    with FakeMcp() as fake:
        fake.require_token = secret
        r = tether("add", "corp", fake.url, "--bearer", home=home, input=secret + "\n")
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["corp"] == {"command": winpath(wine.exe), "args": ["run", "corp"]}
        assert "Windows Credential Manager" in r.stderr

        cred = wine.credentials_of(home)["bearer:corp"]
        assert bound_secret(cred.value, fake.origin) == secret, "creds.exe reads the token tether.exe wrote"
        assert cred.blob_bytes == 2 * len(cred.value), "stored as UTF-16, as Windows programs expect"

        r = tether("status", "corp", "--json", home=home)
        row = json.loads(r.stdout)["servers"][0]
        assert row["auth"] == "bearer" and row["signed_in"] is True
        assert row["stored_in"].startswith("Windows Credential Manager")
        assert row["access_token"] == f"{secret[:4]}…{secret[-3:]}"
        assert secret not in r.stdout + r.stderr

        with RawBridge("run", "corp", home=home) as b:
            b.initialize()
            b.send(call(1))
            assert b.recv_response(1, timeout=30)["result"]
        assert fake.seen and all(s.headers.get("authorization") == f"Bearer {secret}" for s in fake.seen)

        r = tether("remove", "corp", home=home)
        assert r.returncode == 0, r.stderr
    assert "bearer:corp" not in wine.credentials_of(home)
    for file in home.rglob("*"):
        if file.is_file():
            assert secret.encode() not in file.read_bytes(), f"the token is in {file}"


def test_a_token_too_long_for_one_credential_is_split_into_parts_that_each_fit(wine, home):
    # A Windows credential holds at most 2560 bytes, 1280 UTF-16 characters;
    # tether stores at most 1000 bytes of text in one (store::secrets).
    secret = secrets.token_urlsafe(3600)[:4800]
    with FakeMcp() as fake:
        fake.require_token = secret
        r = tether("add", "big", fake.url, "--bearer", home=home, input=secret + "\n")
        assert r.returncode == 0, r.stderr
        creds = wine.credentials_of(home)
        assert creds["bearer:big"].value == "tether-chunked:v1:5"
        parts = [creds[f"bearer:big#{i}"] for i in range(1, 6)]
        assert all(0 < p.blob_bytes <= CRED_MAX_BLOB for p in parts), [p.blob_bytes for p in parts]
        assert bound_secret("".join(p.value for p in parts), fake.origin) == secret
        assert "bearer:big#6" not in creds

        with RawBridge("run", "big", home=home) as b:
            b.initialize()
            b.send(call(1))
            assert b.recv_response(1, timeout=30)["result"]
        assert all(s.headers.get("authorization") == f"Bearer {secret}" for s in fake.seen), "the parts were joined"

        assert tether("remove", "big", home=home).returncode == 0
    assert not [k for k in wine.credentials_of(home) if k.startswith("bearer:big")], "the parts went with the head"


# --- OAuth ------------------------------------------------------------------------------


def test_an_oauth_sign_in_started_by_the_client_keeps_its_tokens_in_the_credential_manager_until_logout(wine, everything_http, home, tmp_path):
    browser = Browser(tmp_path)
    with OAuthMcp(everything_http) as peer:
        with RawBridge("run", peer.mcp_url, home=home, env=browser.env) as b:
            b.send(INIT)
            assert b.recv_response(0, timeout=60)["result"]["serverInfo"]
            b.send(INITIALIZED)
            b.send(call(1, "signed in"))
            assert b.recv_response(1, timeout=30)["result"]["content"][0]["text"] == "Echo: signed in"
        assert len(browser.opened()) == 1
        stats = peer.stats()
        assert stats["registrations"] == 1 and stats["token"]["authorization_code"]["ok"] == 1
        assert stats["requests"]["auth"][0]["resource"] == peer.mcp_url

        keys = [k for k in wine.credentials_of(home) if k.startswith("tokens:")]
        assert len(keys) == 1, keys
        tokens = json.loads(wine.credentials_of(home)[keys[0]].value)
        assert tokens["access_token"] and tokens["refresh_token"]

        r = tether("status", "--json", home=home)
        row = json.loads(r.stdout)["servers"][0]
        assert row["signed_in"] is True and row["issuer"] == peer.issuer
        assert row["stored_in"].startswith("Windows Credential Manager")
        assert tokens["access_token"] not in r.stdout

        # A second run uses the stored tokens: no browser.
        with RawBridge("run", peer.mcp_url, home=home, env=browser.env) as b:
            b.initialize()
            b.send(call(2))
            assert b.recv_response(2, timeout=30)["result"]
        assert len(browser.opened()) == 1

        r = tether("logout", peer.mcp_url, home=home)
        assert r.returncode == 0, r.stderr
        assert "the tokens were revoked" in r.stderr
        assert peer.stats()["revocations"] == 1
    assert not [k for k in wine.credentials_of(home) if k.startswith("tokens:")]
    assert json.loads(tether("status", "--json", home=home).stdout)["servers"][0]["signed_in"] is False


def test_two_bridges_that_need_a_refresh_wait_for_another_process_lock_then_refresh_once(wine, everything_http, home, tmp_path):
    # A refresh is a locked transaction (store::lock: std's File::lock, which
    # is LockFileEx on Windows). While a third process holds the server's
    # lock, two bridges whose token has gone stale must wait; once it lets
    # go, one refreshes and the other adopts that token: one refresh, no
    # invalid_grant from a rotated refresh token used twice.
    ttl = 4
    browser = Browser(tmp_path)
    with OAuthMcp(everything_http, access_ttl=ttl) as peer:
        r = tether("login", peer.mcp_url, home=home, env=browser.env)
        assert r.returncode == 0, r.stderr
        keys = [p.stem for p in (home / "state" / "servers").glob("*.json")]
        assert len(keys) == 1, keys
        time.sleep(ttl * 0.8)  # under a quarter of its life left: too close to expiry to send
        peer.reset()
        bridges = []
        try:
            with wine.holding_lock(home / "state" / "locks" / f"{keys[0]}.lock"):
                bridges = [RawBridge("run", peer.mcp_url, home=home, env=browser.env) for _ in range(2)]
                for b in bridges:
                    b.send(INIT)
                time.sleep(3)
                assert all(b.nothing_more(0.1) for b in bridges), "initialize waited for the refresh, and it for the lock"
                assert peer.stats()["refresh_events"] == [], "nobody refreshed while another process held the lock"
            for n, b in enumerate(bridges):
                assert b.recv_response(0, timeout=30)["result"]["serverInfo"]
                b.send(INITIALIZED)
                b.send(call(1, f"bridge {n}"))
                assert b.recv_response(1, timeout=30)["result"]["content"][0]["text"] == f"Echo: bridge {n}"
        finally:
            for b in bridges:
                b.stop()
        stats = peer.stats()
    assert [e["outcome"] for e in stats["refresh_events"]] == ["ok"], "one refresh; the other bridge adopted its token"
    assert stats["mcp"]["rejected"] == 0, "no stale token was sent"
    assert len(browser.opened()) == 1, "nobody had to sign in again"


# --- Claude Desktop's config ---------------------------------------------------------------


def test_install_and_uninstall_edit_claude_desktops_config_in_appdata(wine, home):
    path = wine.appdata / "Claude" / "claude_desktop_config.json"
    path.parent.mkdir(parents=True)
    original = json.loads((FIXTURES / "claude_desktop_config.json").read_text())
    path.write_text(json.dumps(original, indent=2))

    r = tether("install", "linear", "--json", home=home)
    assert r.returncode == 0, r.stderr
    installed = json.loads(r.stdout)["installed"]
    assert [i["client"] for i in installed] == ["claude-desktop"]
    assert wine.unix(installed[0]["path"]) == path, installed
    after = json.loads(path.read_text())
    assert after["mcpServers"]["linear"] == {"command": winpath(wine.exe), "args": ["run", "linear"]}
    assert not after["mcpServers"]["linear"]["command"].startswith("\\\\?\\"), "a plain drive path, not a verbatim one"
    for key in ("filesystem", "github"):
        assert after["mcpServers"][key] == original["mcpServers"][key]
    assert after["preferences"] == original["preferences"]
    assert path.with_name(path.name + ".tether-backup").exists()

    r = tether("uninstall", "linear", home=home)
    assert r.returncode == 0, r.stderr
    after = json.loads(path.read_text())
    assert "linear" not in after["mcpServers"] and set(after["mcpServers"]) == {"filesystem", "github"}


def test_install_writes_into_the_msix_package_when_claude_comes_from_the_store(wine, home):
    package = wine.local_appdata / "Packages" / "Claude_pzs8sxrjxfjjc"
    package.mkdir(parents=True)
    r = tether("install", "linear", "--json", home=home)
    assert r.returncode == 0, r.stderr
    written = package / "LocalCache" / "Roaming" / "Claude" / "claude_desktop_config.json"
    assert wine.unix(json.loads(r.stdout)["installed"][0]["path"]) == written
    assert json.loads(written.read_text())["mcpServers"]["linear"]["args"] == ["run", "linear"]
    assert not (wine.appdata / "Claude" / "claude_desktop_config.json").exists(), "the packaged app never reads %APPDATA%"
    r = tether("uninstall", "linear", home=home)
    assert r.returncode == 0, r.stderr
    assert json.loads(written.read_text())["mcpServers"] == {}


def test_import_turns_an_mcp_remote_entry_into_tether_and_its_token_into_a_credential(wine, home):
    token = f"imported-{secrets.token_hex(8)}"
    with FakeMcp() as fake:
        fake.require_token = token
        config = {
            "mcpServers": {
                "corp": {
                    "command": "npx",
                    "args": ["-y", "mcp-remote", fake.url, "--header", "Authorization:${AUTH}"],
                    "env": {"AUTH": f"Bearer {token}"},
                },
                "filesystem": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "C:\\Users\\ann"]},
            },
        }
        path = wine.appdata / "Claude" / "claude_desktop_config.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(config, indent=2))

        r = tether("import", "--json", home=home)
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout) == {"imported": ["corp"], "errors": []}
        after = json.loads(path.read_text())
        entry = after["mcpServers"]["corp"]
        assert entry == {"command": winpath(wine.exe), "args": ["run", "corp"]}, "the env that held the token is gone"
        assert after["mcpServers"]["filesystem"] == config["mcpServers"]["filesystem"]
        assert bound_secret(wine.credentials_of(home)["bearer:corp"].value, fake.origin) == token
        assert token not in path.read_text()

        # What Claude Desktop then runs: the entry's program with its arguments.
        assert wine.unix(entry["command"]) == wine.exe
        with RawBridge(*entry["args"], home=home) as b:
            b.initialize()
            b.send(call(1))
            assert b.recv_response(1, timeout=30)["result"]
    assert fake.seen and all(s.headers.get("authorization") == f"Bearer {token}" for s in fake.seen)


def test_a_tether_run_from_the_temporary_folder_writes_no_entry_and_says_what_to_do(wine, home):
    # What Explorer does with a program opened inside a .zip: it runs from %TEMP%.
    temp = wine.temp / "Temp1_tether.zip"
    temp.mkdir(parents=True)
    shutil.copy(wine.exe, temp / "tether.exe")
    try:
        r = wine.run(temp / "tether.exe", "install", "linear", env={"TETHER_HOME": winpath(home)}, text=True)
        assert r.returncode != 0
        assert "temporary folder" in r.stderr and "Install Tether" in r.stderr, r.stderr
        assert not (wine.appdata / "Claude" / "claude_desktop_config.json").exists()
    finally:
        shutil.rmtree(temp, ignore_errors=True)


# --- doctor ----------------------------------------------------------------------------------


def doctor(*args: str) -> tuple[int, dict]:
    r = subprocess.run([tether_bin(), "doctor", *args, "--json"], capture_output=True, text=True, timeout=120)
    assert r.returncode in (0, 1, 2), r.stderr
    return r.returncode, json.loads(r.stdout)


def test_doctor_finds_no_errors_in_server_everything_or_behind_oidc_provider(wine, everything_http):
    code, report = doctor(everything_http)
    assert [f for f in report["findings"] if f["level"] == "error"] == []
    assert code == 0
    assert {f["id"] for f in report["findings"] if f["level"] == "ok"} >= {"mcp.initialize", "transport.versions"}
    with OAuthMcp(everything_http) as peer:
        code, report = doctor(peer.mcp_url, "--probe-registration", "--probe-refresh")
    assert [f for f in report["findings"] if f["level"] == "error"] == []
    assert code in (0, 1)
    ok = {f["id"] for f in report["findings"] if f["level"] == "ok"}
    assert {"auth.www-authenticate", "prm.found", "as.metadata", "as.issuer", "as.pkce", "probe.registration", "probe.refresh"} <= ok
