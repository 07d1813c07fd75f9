"""The command line: settings problems are explained before anything touches
the network, and mcp-remote's way of calling it works."""

from __future__ import annotations

import subprocess

from bridge import RawBridge, tether_bin
from fakes import FakeMcp


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([tether_bin(), *args], capture_output=True, text=True, timeout=10, env=env, stdin=subprocess.DEVNULL)


def test_plain_http_to_another_computer_is_refused_with_the_fix():
    r = run("run", "http://10.1.2.3:8080/mcp?key=secret")
    assert r.returncode == 1
    assert r.stdout == ""
    assert r.stderr.strip() == (
        "tether: error: http://10.1.2.3:8080/mcp?key=*** is plain http to another computer, so anyone on the network "
        "could read its traffic and tokens; use https://, or pass --allow-http if you trust the network"
    )


def test_a_name_under_localhost_is_not_taken_for_this_computer():
    # Nothing makes a resolver keep *.localhost on this computer (a hosts
    # file or a DNS search domain can send it anywhere): plain http to it
    # is refused like plain http to any other name, before any lookup.
    r = run("run", "http://mcp.localhost:8080/mcp")
    assert r.returncode == 1
    assert r.stdout == ""
    assert "http://mcp.localhost:8080/mcp is plain http to another computer" in r.stderr


def test_a_header_naming_an_unset_variable_is_refused_by_name():
    r = run("run", "https://mcp.example.com/mcp", "--header", "Authorization: Bearer ${NOT_SET_ANYWHERE}", env={"PATH": "/usr/bin"})
    assert r.returncode == 1
    assert "--header Authorization refers to ${NOT_SET_ANYWHERE}, which is not set in the environment" in r.stderr


def test_a_malformed_header_is_refused_without_echoing_its_value():
    r = run("run", "https://mcp.example.com/mcp", "--header", "Bearer sk-live-abcdef")
    assert r.returncode == 1
    assert "sk-live-abcdef" not in r.stderr
    assert "is not of the form 'Name: value'" in r.stderr


def test_headers_can_come_from_a_header_file(tmp_path, home):
    headers = tmp_path / "headers"
    headers.write_text("# the API key\nX-Api-Key: ${KEY}\n\nX-Team: core\n")
    with FakeMcp() as fake, RawBridge("run", fake.url, "--header-file", str(headers), home=home, env={"KEY": "k-1"}) as b:
        b.initialize()
    assert fake.seen[0].headers["x-api-key"] == "k-1"
    assert fake.seen[0].headers["x-team"] == "core"


def test_the_mcp_remote_command_shape_works(home):
    """`tether <url> [port] --header …` as `npx mcp-remote <url> [port] --header …` was."""
    with FakeMcp() as fake, RawBridge(fake.url, "3334", "--header", "X-A: b", "--silent", home=home) as b:
        assert b.initialize()["result"]["serverInfo"]["name"] == "fake-mcp"
        b.close_stdin()
        assert b.wait(5) == 0
        assert b.stderr == b"", "--silent keeps stderr empty"


def test_help_and_version_print_to_stdout_and_exit_zero():
    r = run("--help")
    assert r.returncode == 0 and "run" in r.stdout
    r = run("run", "--help")
    assert r.returncode == 0 and "--header" in r.stdout and "--transport" in r.stdout
    r = run("--version")
    assert r.returncode == 0 and r.stdout.startswith("tether ")


def test_an_unknown_flag_is_a_usage_error():
    r = run("run", "https://mcp.example.com/mcp", "--no-such-flag")
    assert r.returncode == 2
    assert "--no-such-flag" in r.stderr


def test_a_log_file_is_written_under_tether_home(home):
    with FakeMcp() as fake, RawBridge("run", fake.url, home=home) as b:
        b.initialize()
        b.close_stdin()
        b.wait(5)
    port = fake.url.split(":")[2].split("/")[0]
    log = home / "logs" / f"run-127.0.0.1_{port}.log"
    assert "bridge started" in log.read_text()
    assert oct(log.stat().st_mode & 0o777) == "0o600"


def test_the_log_level_set_in_the_app_reaches_the_bridges_log_file(home):
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "servers.json").write_text('{"servers": {}, "settings": {"log_level": "debug"}}')
    with FakeMcp() as fake, RawBridge("run", fake.url, home=home) as b:
        b.initialize()
        b.close_stdin()
        b.wait(5)
    port = fake.url.split(":")[2].split("/")[0]
    log = (home / "logs" / f"run-127.0.0.1_{port}.log").read_text()
    assert "DEBUG" in log and "→ remote" in log, log
