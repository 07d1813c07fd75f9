"""`tether doctor` against FakeDoctor (fakes.py): correct by default, and one
misconfiguration at a time. Each case must be flagged by its own check and by
no other; the correct server must come out clean. Real servers (the official
server-everything, and it behind oidc-provider) must produce no errors."""

from __future__ import annotations

import json
import subprocess

import pytest

from bridge import tether_bin
from fakes import FakeDoctor

ALL_PROBES = ["--all-probes"]


def doctor(url: str, *args: str) -> tuple[int, dict]:
    r = subprocess.run([tether_bin(), "doctor", url, "--json", "--timeout", "5", *args], capture_output=True, text=True, timeout=120)
    assert r.stdout, r.stderr
    return r.returncode, json.loads(r.stdout)


def flagged(report: dict) -> dict[str, str]:
    return {f["id"]: f["level"] for f in report["findings"] if f["level"] in ("warning", "error")}


def test_a_correct_server_comes_out_clean_with_every_probe():
    with FakeDoctor() as fake:
        code, report = doctor(fake.url, *ALL_PROBES)
    assert flagged(report) == {}
    assert code == 0
    ids = [f["id"] for f in report["findings"]]
    for expected in ["url.https", "net.dns", "net.connect", "mcp.initialize", "auth.www-authenticate", "prm.found", "as.metadata", "as.pkce", "cors.prm", "cors.as", "waf.user-agents", "probe.registration", "probe.redirect-port", "probe.refresh"]:
        assert expected in ids


CASES = [
    # (knob, value, the findings it must cause, exit code)
    ("no_www_authenticate", True, {"auth.www-authenticate": "error"}, 2),
    ("basic_scheme", True, {"auth.bearer": "error"}, 2),
    ("no_resource_metadata", True, {"auth.resource-metadata": "warning"}, 1),
    ("html_login", True, {"auth.html-login": "error"}, 2),
    ("cors_without_expose", True, {"cors.expose-www-authenticate": "warning"}, 1),
    ("prm_missing", True, {"prm.found": "error"}, 2),
    ("prm_resource", "https://evil.example/mcp", {"prm.resource": "error"}, 2),
    ("prm_no_as", True, {"prm.authorization-servers": "error"}, 2),
    ("issuer_mismatch", True, {"as.issuer": "error"}, 2),
    ("no_s256", True, {"as.pkce": "error"}, 2),
    ("no_registration", True, {"as.registration": "error"}, 2),
    ("no_public_clients", True, {"as.public-clients": "warning"}, 1),
    ("http_authorize", True, {"as.authorize-https": "error"}, 2),
    ("no_well_known_cors", True, {"cors.prm": "warning", "cors.as": "warning"}, 1),
    ("long_cache", True, {"cache.prm": "warning", "cache.as": "warning"}, 1),
    ("waf_blocks_claude", True, {"waf.user-agents": "error"}, 2),
    ("reg_float_expiry", True, {"probe.registration-expiry": "warning"}, 1),
    ("reg_demands_secret", True, {"probe.registration": "warning"}, 1),
    ("reg_imposes_post", True, {"probe.registration-method": "warning"}, 1),
    ("strict_redirect_port", True, {"probe.redirect-port": "warning", "probe.redirect-localhost": "warning"}, 1),
    ("no_localhost_redirect", True, {"probe.redirect-localhost": "warning"}, 1),
    ("refresh_wrong_error", True, {"probe.refresh": "warning"}, 1),
    ("legacy_only", True, {"transport.kind": "warning"}, 1),
]


@pytest.mark.parametrize("knob,value,expected,code", CASES, ids=[c[0] for c in CASES])
def test_each_misconfiguration_is_flagged_by_its_own_check_and_no_other(knob, value, expected, code):
    with FakeDoctor() as fake:
        setattr(fake, knob, value)
        got_code, report = doctor(fake.url, *ALL_PROBES)
    assert flagged(report) == expected
    assert got_code == code
    for f in report["findings"]:
        if f["id"] in expected:
            assert f["fix"], f"{f['id']} says how to fix it"
            assert f["breaks"], f"{f['id']} says which clients it breaks"


HOSTILE = "\x1b]0;owned\x07\x1b[2J\r\nERROR   forged finding"


@pytest.mark.parametrize("knobs", [("html_login",), ("issuer_mismatch", "reg_demands_secret", "refresh_wrong_error")])
def test_a_servers_words_reach_the_report_without_control_characters(knobs):
    with FakeDoctor() as fake:
        fake.hostile = HOSTILE
        for k in knobs:
            setattr(fake, k, True)
        r = subprocess.run([tether_bin(), "doctor", fake.url, *ALL_PROBES, "--timeout", "5"], capture_output=True, text=True, timeout=120)
        _, report = doctor(fake.url, *ALL_PROBES)
    assert "owned" in r.stdout, "the hostile text was quoted"
    for line in r.stdout.split("\n"):
        assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in line), repr(line)
        assert not line.startswith("ERROR   forged"), line
    for f in report["findings"]:
        assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in f["saw"]), (f["id"], f["saw"])


def test_the_text_report_starts_with_a_summary_and_names_the_fix():
    with FakeDoctor() as fake:
        fake.no_www_authenticate = True
        r = subprocess.run([tether_bin(), "doctor", fake.url], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    first = r.stdout.splitlines()[0]
    assert first.startswith(f"tether doctor {fake.url}: 1 error")
    assert "ERROR   401 carries WWW-Authenticate  [auth.www-authenticate]" in r.stdout
    assert "breaks: Claude Desktop and claude.ai connectors, Claude Code, mcp-remote" in r.stdout
    assert "WWW-Authenticate: Bearer resource_metadata=" in r.stdout


def test_probes_that_create_state_run_only_when_asked():
    with FakeDoctor() as fake:
        _, report = doctor(fake.url)
        assert fake.registered == {}, "no client was registered"
    levels = {f["id"]: f["level"] for f in report["findings"]}
    assert levels["probe.registration"] == "skipped"
    assert levels["probe.refresh"] == "skipped"


def test_the_official_server_everything_has_no_errors(everything_http):
    code, report = doctor(everything_http)
    assert [f for f in report["findings"] if f["level"] == "error"] == []
    assert code == 0
    assert {f["id"] for f in report["findings"] if f["level"] == "ok"} >= {"mcp.initialize", "transport.versions"}


def test_a_real_authorization_server_has_no_errors(everything_http):
    from oauth_peer import OAuthMcp

    with OAuthMcp(everything_http) as peer:
        code, report = doctor(peer.mcp_url, "--probe-registration", "--probe-refresh")
    assert [f for f in report["findings"] if f["level"] == "error"] == []
    assert code in (0, 1)
    ok = {f["id"] for f in report["findings"] if f["level"] == "ok"}
    assert {"auth.www-authenticate", "prm.found", "prm.resource", "as.metadata", "as.issuer", "as.pkce", "probe.registration", "probe.refresh"} <= ok


def test_an_unreachable_server_is_an_error_that_names_the_cause():
    code, report = doctor("http://127.0.0.1:9/mcp")
    assert code == 2
    assert flagged(report) == {"net.connect": "error"}
