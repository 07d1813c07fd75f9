"""`tether install|uninstall|import` against MCP clients' config files in a
temporary HOME (fixtures shaped like real ones in tests/fixtures/clients/):
other servers and unknown keys survive, a malformed file is never written,
and an `npx mcp-remote` entry becomes a Tether entry whose token moved into
the keychain (the real Secret Service: tests/run runs the tests in a D-Bus
session with gnome-keyring)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bridge import ROOT, RawBridge, tether_bin
from conftest import keychain_secret
from fakes import FakeMcp

FIXTURES = ROOT / "tests" / "fixtures" / "clients"

needs_keychain = pytest.mark.skipif(
    not os.environ.get("DBUS_SESSION_BUS_ADDRESS"),
    reason="needs a Secret Service: tests/run runs the tests in a D-Bus session with gnome-keyring",
)


@pytest.fixture
def clients_home(tmp_path) -> Path:
    """The HOME whose client configs the commands edit."""
    h = tmp_path / "user-home"
    h.mkdir()
    return h


def tether(*args: str, home: Path, clients_home: Path, input: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_CONFIG_HOME", "APPDATA", "LOCALAPPDATA", "CLAUDE_CONFIG_DIR")}
    env.update({"HOME": str(clients_home), "TETHER_HOME": str(home)})
    return subprocess.run([tether_bin(), *args], input=input, capture_output=True, text=True, timeout=60, env=env)


def claude_config(clients_home: Path) -> Path:
    return clients_home / ".config" / "Claude" / "claude_desktop_config.json"


def put(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def sidecar() -> str:
    return os.path.realpath(tether_bin())


def call(rid: int) -> dict:
    return {"jsonrpc": "2.0", "id": rid, "method": "tools/call", "params": {"name": "echo", "arguments": {"message": "hi"}}}


def test_install_adds_the_entry_and_keeps_other_servers_and_unknown_keys(home, clients_home):
    original = (FIXTURES / "claude_desktop_config.json").read_text()
    path = put(claude_config(clients_home), original)
    r = tether("install", "linear", home=home, clients_home=clients_home)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "", "stdout stays clean without --json"
    assert str(path) in r.stderr
    after = json.loads(path.read_text())
    before = json.loads(original)
    assert after["mcpServers"].pop("linear") == {"command": sidecar(), "args": ["run", "linear"]}
    assert after == before, "every other server and key is as it was"
    entry = f'    }},\n    "linear": {{\n      "command": "{sidecar()}",\n      "args": ["run", "linear"]\n    }}\n  }},\n  "globalShortcut"'
    assert path.read_text() == original.replace('    }\n  },\n  "globalShortcut"', entry), "only the entry was added"
    assert Path(f"{path}.tether-backup").read_text() == original


@pytest.mark.skipif(not shutil.which("strace"), reason="needs strace (tests/run installs it)")
def test_a_config_is_replaced_through_an_unguessable_exclusive_temporary_file_and_the_rename_is_synced(
    home, clients_home, tmp_path
):
    path = put(claude_config(clients_home), (FIXTURES / "claude_desktop_config.json").read_text())
    trace = tmp_path / "strace.txt"
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_CONFIG_HOME", "APPDATA", "LOCALAPPDATA", "CLAUDE_CONFIG_DIR")}
    env.update({"HOME": str(clients_home), "TETHER_HOME": str(home)})
    r = subprocess.run(
        ["strace", "-f", "-y", "-o", str(trace), "-e", "trace=openat,rename,renameat,renameat2,fsync",
         tether_bin(), "install", "linear"],
        capture_output=True, text=True, timeout=60, env=env,
    )
    assert r.returncode == 0, r.stderr
    lines = trace.read_text().splitlines()
    directory = re.escape(str(path.parent))
    for name in (path.name, f"{path.name}.tether-backup"):
        # The temporary file: 64 random bits in its name, created with O_EXCL, owner-only.
        tmp = rf"{directory}/\.{re.escape(name)}\.[0-9a-f]{{16}}\.tmp"
        opened = [i for i, l in enumerate(lines) if re.search(rf'openat\(.*"{tmp}", [^)]*O_CREAT[^)]*\) = \d', l)]
        assert opened, f"no temporary file for {name}:\n" + "\n".join(lines)
        assert all("O_EXCL" in lines[i] and ", 0600)" in lines[i] for i in opened), [lines[i] for i in opened]
        renamed = [i for i, l in enumerate(lines)
                   if re.search(rf'rename(at2?)?\(.*"{tmp}", .*"{directory}/{re.escape(name)}"', l) and l.rstrip().endswith("= 0")]
        assert len(renamed) == 1, "\n".join(lines)
        # POSIX: the rename is durable once the directory is synced.
        after = lines[renamed[0] + 1:]
        until_next = after[: next((i for i, l in enumerate(after) if "rename" in l), len(after))]
        synced = [l for l in until_next if re.search(rf"fsync\(\d+<{directory}>\) = 0", l)]
        assert synced, f"the directory was not synced after renaming {name}:\n" + "\n".join(lines[renamed[0]:])
    assert json.loads(path.read_text())["mcpServers"]["linear"] == {"command": sidecar(), "args": ["run", "linear"]}


def test_install_into_several_clients_then_uninstall_from_every_one(home, clients_home):
    zed = put(clients_home / ".config" / "zed" / "settings.json", (FIXTURES / "zed_settings.json").read_text())
    vscode = put(clients_home / ".config" / "Code" / "User" / "mcp.json", (FIXTURES / "vscode_mcp.json").read_text())
    originals = {zed: zed.read_text(), vscode: vscode.read_text()}
    r = tether("install", "linear", "--client", "claude-desktop", "--client", "zed", "--client", "vscode", "--json",
               home=home, clients_home=clients_home)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert [row["client"] for row in out["installed"]] == ["claude-desktop", "zed", "vscode"]
    assert out["errors"] == []
    assert "// Searches the web" in zed.read_text(), "Zed's comments stay"
    assert json.loads(claude_config(clients_home).read_text()) == {
        "mcpServers": {"linear": {"command": sidecar(), "args": ["run", "linear"]}}
    }, "a missing file is created"

    r = tether("uninstall", "linear", "--json", home=home, clients_home=clients_home)
    assert r.returncode == 0, r.stderr
    assert sorted(row["client"] for row in json.loads(r.stdout)["removed"]) == ["claude-desktop", "vscode", "zed"]
    for path, text in originals.items():
        assert path.read_text() == text, f"{path} is back as it was"
    assert json.loads(claude_config(clients_home).read_text()) == {"mcpServers": {}}


def test_uninstall_leaves_an_entry_that_is_not_tethers(home, clients_home):
    original = (FIXTURES / "claude_desktop_config.json").read_text()
    path = put(claude_config(clients_home), original)
    r = tether("uninstall", "github", "--client", "claude-desktop", home=home, clients_home=clients_home)
    assert r.returncode == 1
    assert "does not run Tether" in r.stderr
    assert path.read_text() == original


def test_a_malformed_file_is_left_untouched_and_the_error_names_its_line(home, clients_home):
    bad = (FIXTURES / "claude_desktop_malformed.json").read_text()
    path = put(claude_config(clients_home), bad)
    r = tether("install", "linear", home=home, clients_home=clients_home)
    assert r.returncode == 1
    assert str(path) in r.stderr and "line 5" in r.stderr, r.stderr
    assert "never overwrites" in r.stderr
    assert path.read_text() == bad
    assert not Path(f"{path}.tether-backup").exists()


def test_import_with_pick_converts_only_the_picked_entry(home, clients_home):
    path = put(claude_config(clients_home), (FIXTURES / "claude_desktop_mcp_remote.json").read_text())
    r = tether("import", "--dry-run", "--json", home=home, clients_home=clients_home)
    assert r.returncode == 0, r.stderr
    rows = {row["name"]: row for row in json.loads(r.stdout)}
    assert set(rows) == {"corp", "linear"}
    assert rows["linear"]["url"] == "https://mcp.linear.app/sse"
    assert rows["linear"]["has_secret"] is False and rows["linear"]["token_header"] is None
    assert rows["corp"]["token_header"] == "Authorization" and rows["corp"]["has_secret"] is True
    assert rows["corp"]["file"] == str(path)
    assert "corp-token-5f2a9c" not in r.stdout + r.stderr
    assert path.read_text() == (FIXTURES / "claude_desktop_mcp_remote.json").read_text(), "a dry run writes nothing"

    r = tether("import", "--json", "--pick", "claude-desktop:linear", home=home, clients_home=clients_home)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"imported": ["linear"], "errors": []}
    servers = json.loads(path.read_text())["mcpServers"]
    assert servers["linear"] == {"command": sidecar(), "args": ["run", "linear"]}
    assert servers["corp"]["command"] == "npx", "the entry not picked is as it was"
    listed = json.loads((home / "config" / "servers.json").read_text())["servers"]
    assert listed == {"linear": {"url": "https://mcp.linear.app/sse", "auth": "oauth"}}

    r = tether("import", "--json", "--pick", "cursor:nothing", home=home, clients_home=clients_home)
    assert json.loads(r.stdout)["errors"][0]["name"] == "nothing"


@needs_keychain
def test_import_moves_the_token_into_the_keychain_and_the_entry_runs_tether(home, clients_home):
    token = "imported-token-0c4e1b7a"
    with FakeMcp() as fake:
        fake.require_token = token
        config = {
            "mcpServers": {
                "corp": {
                    "command": "npx",
                    "args": ["-y", "mcp-remote", fake.url, "--header", "Authorization:${AUTH}"],
                    "env": {"AUTH": f"Bearer {token}"},
                },
                "filesystem": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]},
            },
            "preferences": {"sidebarMode": "chat"},
        }
        path = put(claude_config(clients_home), json.dumps(config, indent=2) + "\n")
        r = tether("import", "--json", home=home, clients_home=clients_home)
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout) == {"imported": ["corp"], "errors": []}
        assert token not in r.stdout + r.stderr

        after = json.loads(path.read_text())
        assert after["mcpServers"]["corp"] == {"command": sidecar(), "args": ["run", "corp"]}, "the env that held the token is gone"
        assert after["mcpServers"]["filesystem"] == config["mcpServers"]["filesystem"]
        assert after["preferences"] == config["preferences"]
        assert keychain_secret(home, "bearer:corp") == token

        r = tether("status", "corp", "--json", home=home, clients_home=clients_home)
        row = json.loads(r.stdout)["servers"][0]
        assert row["auth"] == "bearer" and row["signed_in"] is True
        assert token not in r.stdout

        for root in (clients_home, home):
            for file in root.rglob("*"):
                if file.is_file():
                    assert token.encode() not in file.read_bytes(), f"the token is still in {file}"

        with RawBridge("run", "corp", home=home) as b:
            b.initialize()
            b.send(call(1))
            assert b.recv_response(1)["result"]
    assert fake.seen and all(s.headers.get("authorization") == f"Bearer {token}" for s in fake.seen)


def mcp_remote_cache(clients_home: Path) -> Path:
    """~/.mcp-auth as mcp-remote 0.15 leaves it: plain-text tokens per server hash."""
    cache = clients_home / ".mcp-auth"
    v1 = cache / "mcp-remote-v1"
    v1.mkdir(parents=True)
    digest = "5d41402abc4b2a76b9719d911017c592"
    (v1 / f"{digest}_tokens.json").write_text('{"access_token": "at1", "refresh_token": "mcp-remote-rt-77aa"}')
    (v1 / f"{digest}_client_info.json").write_text('{"client_id": "c1"}')
    return cache


def test_after_an_import_mcp_remotes_token_cache_is_pointed_at_and_deleted_only_when_asked(home, clients_home):
    config = json.loads((FIXTURES / "claude_desktop_mcp_remote.json").read_text())
    put(claude_config(clients_home), json.dumps(config, indent=2) + "\n")
    cache = mcp_remote_cache(clients_home)

    r = tether("import", "--json", "--pick", "claude-desktop:linear", home=home, clients_home=clients_home)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"imported": ["linear"], "errors": [], "mcp_auth_cache": str(cache)}
    assert f"mcp-remote's token cache is still at {cache}, with its tokens in plain text" in r.stderr
    assert "once the `npx mcp-remote` entry left is imported or removed: `tether import --delete-mcp-auth`" in r.stderr
    assert (cache / "mcp-remote-v1").is_dir(), "nothing is deleted unasked"

    # The corp entry is left (its token is the keychain tests' business): drop it.
    del config["mcpServers"]["corp"]
    config["mcpServers"]["linear"] = json.loads(claude_config(clients_home).read_text())["mcpServers"]["linear"]
    put(claude_config(clients_home), json.dumps(config, indent=2) + "\n")

    # Something in it that is not mcp-remote's: nothing is deleted.
    (cache / "notes.txt").write_text("mine")
    r = tether("import", "--delete-mcp-auth", home=home, clients_home=clients_home)
    assert r.returncode == 1
    assert f"{cache} holds notes.txt, which is not mcp-remote's, so Tether deleted nothing" in r.stderr
    assert (cache / "mcp-remote-v1" / "5d41402abc4b2a76b9719d911017c592_tokens.json").exists()

    (cache / "notes.txt").unlink()
    r = tether("import", "--delete-mcp-auth", "--json", home=home, clients_home=clients_home)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"imported": [], "errors": []}
    assert f"Deleted mcp-remote's token cache {cache}" in r.stderr
    assert not cache.exists()
    assert clients_home.is_dir() and claude_config(clients_home).exists()


def test_import_says_nothing_of_a_token_cache_that_is_not_there(home, clients_home):
    put(claude_config(clients_home), (FIXTURES / "claude_desktop_mcp_remote.json").read_text())
    r = tether("import", "--json", "--pick", "claude-desktop:linear", home=home, clients_home=clients_home)
    assert json.loads(r.stdout) == {"imported": ["linear"], "errors": []}
    assert ".mcp-auth" not in r.stderr


@needs_keychain
def test_an_imports_backup_keeps_the_other_entries_but_not_the_token_however_the_file_spells_it(home, clients_home):
    # A token with a "/" that the file writes as "\/" (JSON allows it): a
    # search for the token as text does not find it.
    token = "imp/0rted-9b1f"
    config = {
        "mcpServers": {
            "corp": {
                "command": "npx",
                "args": ["-y", "mcp-remote", "https://mcp.corp.example/mcp", "--header", "Authorization:${AUTH}"],
                "env": {"AUTH": f"Bearer {token}"},
            },
            "github": {"command": "npx", "args": ["-y", "github-mcp"], "env": {"GITHUB_TOKEN": "ghp-other-server"}},
        }
    }
    path = put(claude_config(clients_home), json.dumps(config, indent=2).replace("/", "\\/") + "\n")
    r = tether("import", "--json", home=home, clients_home=clients_home)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["imported"] == ["corp"]
    assert keychain_secret(home, "bearer:corp") == token
    backup = Path(f"{path}.tether-backup")
    kept = json.loads(backup.read_text())
    assert token not in json.dumps(kept) and "0rted" not in backup.read_text()
    assert kept["mcpServers"]["corp"]["env"]["AUTH"] == "Bearer [moved to the keychain]"
    assert kept["mcpServers"]["github"] == config["mcpServers"]["github"], "the way back keeps everything else"
    assert backup.stat().st_mode & 0o777 == 0o600
