"""`tether doctor` against FakeDoctor (fakes.py): correct by default, and one
misconfiguration at a time, with every probe on (the sign-in probe signs in
through the scripted browser, fake_browser.py, as $BROWSER). Each case must
be flagged by its own check and by no other, at its level; the correct
server must come out clean. Healthy servers nobody here wrote come out with
no warning and no error with every probe on: oidc-provider in front of the
official server-everything, and the conformance suite's test servers where
they are healthy."""

from __future__ import annotations

import glob
import json
import os
import subprocess
from pathlib import Path

import pytest

from bridge import tether_bin
from conftest import PEERS, node_bin
from fakes import FakeDoctor

E2E = Path(__file__).resolve().parent
ALL_PROBES = ["--all-probes"]


def browser_env(tmp: Path | None = None) -> dict[str, str]:
    env = {**os.environ, "BROWSER": str(E2E / "fake_browser.py")}
    if tmp is not None:
        env["FAKE_BROWSER_LOG"] = str(tmp / "browser.log")
    return env


def doctor(url: str, *args: str, env: dict[str, str] | None = None) -> tuple[int, dict]:
    r = subprocess.run(
        [tether_bin(), "doctor", url, "--json", "--timeout", "5", "--auth-timeout", "60", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=env or browser_env(),
    )
    assert r.stdout, r.stderr
    return r.returncode, json.loads(r.stdout)


def catalogue() -> dict[str, dict]:
    r = subprocess.run([tether_bin(), "doctor", "--list-checks", "--json"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return {c["id"]: c for c in json.loads(r.stdout)}


CATALOGUE = catalogue()


def flagged(report: dict) -> dict[str, str]:
    return {f["id"]: f["level"] for f in report["findings"] if f["level"] in ("warning", "error")}


def levels(report: dict) -> dict[str, str]:
    return {f["id"]: f["level"] for f in report["findings"]}


def test_a_correct_server_comes_out_clean_with_every_probe():
    with FakeDoctor() as fake:
        code, report = doctor(fake.url, *ALL_PROBES)
        revocations = fake.revocations
    assert flagged(report) == {}, json.dumps(report, indent=1)
    assert code == 0
    got = levels(report)
    for expected in [
        "url.https", "net.dns", "net.connect", "mcp.initialize", "auth.www-authenticate", "auth.html-401",
        "prm.found", "as.metadata", "as.oauth-metadata", "as.pkce", "cors.prm", "cors.as", "waf.user-agents",
        "probe.registration", "probe.registration-loopback", "probe.registration-expiry", "probe.registration-claude",
        "probe.redirect-unregistered", "probe.redirect-port",
        "probe.redirect-localhost", "probe.refresh", "probe.sign-in", "probe.token-status", "probe.token-type",
        "probe.token-expires-in", "probe.token-fields", "probe.token-refresh-token", "probe.token-accepted",
        "probe.refresh-grant", "probe.refresh-rotation", "probe.revocation",
        "transport.kind", "transport.versions", "transport.era",
    ]:
        assert got.get(expected) == "ok", f"{expected}: {got.get(expected)}"
    assert revocations >= 1, "the sign-in's tokens were revoked"


def test_the_sign_in_probe_reports_each_field_by_kind_never_by_value_and_stores_nothing(tmp_path):
    home = tmp_path / "tether-home"
    home.mkdir()
    with FakeDoctor() as fake:
        _, report = doctor(fake.url, "--probe-sign-in", env={**browser_env(), "TETHER_HOME": str(home)})
        tokens = set(fake.issued)
    assert len(tokens) == 6, "a sign-in and two refreshes, each an access and a refresh token"
    assert list(home.rglob("*")) == [], "no state file, no log, no client record"
    sign_in = next(f for f in report["findings"] if f["id"] == "probe.sign-in")
    assert "HTTP 200, application/json: access_token a string (opaque, 32 characters)" in sign_in["saw"], sign_in
    assert 'token_type a string "Bearer"' in sign_in["saw"]
    assert "expires_in an integer 3600" in sign_in["saw"]
    text = json.dumps(report)
    issued = {t for t in tokens if t in text}
    assert issued == set(), "no token value reaches the report"


CASES = [
    # (knob, value, the findings it must cause, exit code)
    ("no_www_authenticate", True, {"auth.www-authenticate": "error"}, 2),
    ("basic_scheme", True, {"auth.bearer": "error"}, 2),
    ("no_resource_metadata", True, {"auth.resource-metadata": "warning"}, 1),
    ("html_login", True, {"auth.html-login": "error"}, 2),
    ("html_401", True, {"auth.html-401": "warning"}, 1),
    ("cors_without_expose", True, {"cors.expose-www-authenticate": "warning"}, 1),
    ("prm_missing", True, {"prm.found": "error"}, 2),
    ("prm_resource", "https://evil.example/mcp", {"prm.resource": "error"}, 2),
    ("prm_no_as", True, {"prm.authorization-servers": "error"}, 2),
    ("issuer_mismatch", True, {"as.issuer": "error"}, 2),
    ("oidc_only", True, {"as.oauth-metadata": "warning"}, 1),
    ("no_s256", True, {"as.pkce": "error"}, 2),
    ("no_registration", True, {"as.registration": "error"}, 2),
    ("no_public_clients", True, {"as.public-clients": "warning"}, 1),
    ("http_authorize", True, {"as.authorize-https": "error"}, 2),
    ("no_well_known_cors", True, {"cors.prm": "warning", "cors.as": "warning"}, 1),
    ("long_cache", True, {"cache.prm": "warning", "cache.as": "warning"}, 1),
    ("waf_blocks_claude", True, {"waf.user-agents": "error"}, 2),
    ("reg_float_expiry", True, {"probe.registration-expiry": "warning"}, 1),
    ("reg_string_expiry", True, {"probe.registration-expiry": "error"}, 2),
    ("reg_demands_secret", True, {"probe.registration": "warning"}, 1),
    ("reg_imposes_post", True, {"probe.registration-method": "warning"}, 1),
    ("reg_refuses_confidential", True, {"probe.registration-claude": "error"}, 2),
    ("reg_refuses_127", True, {"probe.registration-loopback": "warning"}, 1),
    ("strict_redirect_port", True, {"probe.redirect-port": "warning"}, 1),
    ("no_localhost_redirect", True, {"probe.redirect-localhost": "warning"}, 1),
    ("open_redirect", True, {"probe.redirect-unregistered": "error"}, 2),
    ("refresh_wrong_error", True, {"probe.refresh": "warning"}, 1),
    ("token_201", True, {"probe.token-status": "error"}, 2),
    ("token_expires_string", True, {"probe.token-expires-in": "error"}, 2),
    ("token_expires_float", True, {"probe.token-expires-in": "warning"}, 1),
    ("token_type_lower", True, {"probe.token-type": "warning"}, 1),
    ("token_scope_list", True, {"probe.token-fields": "error"}, 2),
    ("no_refresh_with_offline", True, {"probe.token-refresh-token": "warning"}, 1),
    ("token_rejected", True, {"probe.token-accepted": "error"}, 2),
    ("refresh_refused", True, {"probe.refresh-grant": "error"}, 2),
    ("refresh_rotation_broken", True, {"probe.refresh-rotation": "error"}, 2),
    ("revocation_ignored", True, {"probe.revocation": "warning"}, 1),
    ("legacy_only", True, {"transport.kind": "warning"}, 1),
]


@pytest.mark.parametrize("knob,value,expected,code", CASES, ids=[c[0] for c in CASES])
def test_each_misconfiguration_is_flagged_by_its_own_check_and_no_other(knob, value, expected, code, tmp_path):
    with FakeDoctor() as fake:
        setattr(fake, knob, value)
        got_code, report = doctor(fake.url, *ALL_PROBES, env=browser_env(tmp_path))
    log = (tmp_path / "browser.log").read_text() if (tmp_path / "browser.log").exists() else "(no browser log)"
    assert flagged(report) == expected, json.dumps([f for f in report["findings"] if f["level"] != "ok"], indent=1) + "\n" + log
    assert got_code == code
    for f in report["findings"]:
        if f["id"] in expected:
            assert f["fix"], f"{f['id']} says how to fix it"
            assert f["breaks"] or not CATALOGUE[f["id"]]["breaks"], f"{f['id']} says which clients it breaks"


def test_the_sign_in_s_tokens_reach_the_transport_checks_and_are_revoked():
    with FakeDoctor() as fake:
        _, report = doctor(fake.url, "--probe-sign-in")
        left = set(fake.refresh_tokens)
    got = levels(report)
    assert got["transport.versions"] == "ok", "checked with the sign-in's token"
    assert got["probe.revocation"] == "ok"
    assert left == set(), "the refresh token was revoked"
    ids = [f["id"] for f in report["findings"]]
    assert ids.index("transport.versions") < ids.index("probe.revocation"), "revoked last"


def test_a_rejected_token_is_not_used_for_the_transport_checks():
    with FakeDoctor() as fake:
        fake.token_rejected = True
        _, report = doctor(fake.url, "--probe-sign-in")
    got = levels(report)
    assert got["probe.token-accepted"] == "error"
    assert got["transport.versions"] == "skipped"


HOSTILE = "\x1b]0;owned\x07\x1b[2J\r\nERROR   forged finding"


@pytest.mark.parametrize("knobs", [("html_login",), ("issuer_mismatch", "reg_demands_secret", "refresh_wrong_error")])
def test_a_servers_words_reach_the_report_without_control_characters(knobs):
    with FakeDoctor() as fake:
        fake.hostile = HOSTILE
        for k in knobs:
            setattr(fake, k, True)
        r = subprocess.run(
            [tether_bin(), "doctor", fake.url, *ALL_PROBES, "--timeout", "5", "--auth-timeout", "60"],
            capture_output=True,
            text=True,
            timeout=180,
            env=browser_env(),
        )
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


def test_the_markdown_report_has_the_clients_table_and_each_problem_with_its_fix(tmp_path):
    with FakeDoctor() as fake:
        fake.reg_string_expiry = True
        r = subprocess.run(
            [tether_bin(), "doctor", fake.url, "--format", "markdown", "--all-probes", "--timeout", "5"],
            capture_output=True,
            text=True,
            timeout=180,
            env=browser_env(tmp_path),
        )
        tokens = set(fake.issued) | {c["secret"] for c in fake.registered.values() if c["secret"]}
    assert r.returncode == 2, r.stderr
    md = r.stdout
    assert md.startswith(f"# `tether doctor` report for {fake.url}\n\n**1 error** ("), md[:300]
    assert "| Claude's connectors (Claude Desktop, claude.ai) | ❌ breaks | `probe.registration-expiry` |" in md
    assert "| mcp-remote | ❌ breaks | `probe.registration-expiry` |" in md
    assert "| Claude Desktop through Tether | ✅ works |  |" in md
    assert "| Cursor | ✅ works |  |" in md
    assert "### Error: client_secret_expires_at is an integer (`probe.registration-expiry`)" in md
    assert '- **Seen:** client_secret_expires_at is a string ("1900000000"), not a number' in md
    assert '"client_secret_expires_at": 1749600000' in md, "the fix's example"
    assert not any(t in md for t in tokens), "nothing secret"


def test_the_catalogue_lists_every_check_once_and_each_fake_s_check_is_in_it():
    assert len(CATALOGUE) == 50
    flagged_by_fakes = {i for case in CASES for i in case[2]}
    assert flagged_by_fakes <= set(CATALOGUE)
    for case in CASES:
        for check, level in case[2].items():
            assert level in CATALOGUE[check]["raises"], (check, level)
    text = subprocess.run([tether_bin(), "doctor", "--list-checks"], capture_output=True, text=True, timeout=30).stdout
    assert text.startswith("tether doctor runs 50 checks")


def test_probes_that_create_state_run_only_when_asked():
    with FakeDoctor() as fake:
        _, report = doctor(fake.url)
        assert fake.registered == {}, "no client was registered"
        assert fake.codes == {}, "no authorization was asked"
    got = levels(report)
    for probe in ["probe.registration", "probe.redirect-port", "probe.refresh", "probe.sign-in"]:
        assert got[probe] == "skipped", probe


def test_the_official_server_everything_has_no_warning_and_no_error(everything_http):
    code, report = doctor(everything_http, *ALL_PROBES)
    assert flagged(report) == {}, json.dumps(report, indent=1)
    assert code == 0
    assert {f["id"] for f in report["findings"] if f["level"] == "ok"} >= {"mcp.initialize", "transport.versions"}


def test_a_real_authorization_server_has_no_warning_and_no_error_with_every_probe(everything_http, tmp_path):
    from oauth_peer import OAuthMcp

    with OAuthMcp(everything_http) as peer:
        code, report = doctor(peer.mcp_url, *ALL_PROBES, env=browser_env(tmp_path))
        stats = peer.stats()
    log = (tmp_path / "browser.log").read_text() if (tmp_path / "browser.log").exists() else "(no browser log)"
    assert flagged(report) == {}, json.dumps([f for f in report["findings"] if f["level"] != "ok"], indent=1) + "\n" + log
    assert code == 0
    ok = {f["id"] for f in report["findings"] if f["level"] == "ok"}
    assert {
        "auth.www-authenticate", "prm.found", "prm.resource", "as.metadata", "as.oauth-metadata", "as.issuer",
        "as.pkce", "probe.registration", "probe.registration-claude", "probe.redirect-unregistered", "probe.redirect-port", "probe.redirect-localhost", "probe.refresh",
        "probe.sign-in", "probe.token-status", "probe.token-type", "probe.token-expires-in", "probe.token-fields",
        "probe.token-refresh-token", "probe.token-accepted", "probe.refresh-grant", "probe.refresh-rotation",
        "probe.revocation", "transport.versions",
    } <= ok, sorted(ok)
    assert stats["token"]["authorization_code"]["ok"] == 1
    assert stats["token"]["refresh_token"]["ok"] == 2, "one refresh, then one with the token a client keeps"
    assert stats["revocations"] >= 1


# The conformance suite's test servers (0.1.16): an authorization server and
# an MCP server nobody here wrote. They are test scaffolds, not healthy
# servers: they send no CORS headers on the .well-known documents, their
# authorization endpoint approves at once and redirects to any redirect URI,
# and their token endpoint answers any grant with a token. The doctor must
# sign in through them and flag exactly those shortcuts (and, in
# metadata-var2, the challenge without resource_metadata that the scenario
# is about), nothing else. metadata-var1 and var3 publish OpenID Connect
# discovery only (as.oauth-metadata, a case of its own above).
SCAFFOLD = {"cors.prm": "warning", "cors.as": "warning", "probe.redirect-unregistered": "error", "probe.refresh": "warning"}
CONFORMANCE = {
    "auth/metadata-default": SCAFFOLD,
    "auth/metadata-var2": {**SCAFFOLD, "auth.resource-metadata": "warning"},
    "auth/token-endpoint-auth-none": SCAFFOLD,
}


@pytest.mark.parametrize("scenario", sorted(CONFORMANCE))
def test_the_conformance_suite_s_servers_sign_in_and_only_their_shortcuts_are_flagged(scenario, tmp_path):
    suite = PEERS / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
    command = f"{tether_bin()} doctor --json --all-probes --timeout 5 --auth-timeout 30"
    proc = subprocess.run(
        [node_bin(), str(suite), "client", "--command", command, "--scenario", scenario, "-o", str(tmp_path), "--timeout", "60000"],
        capture_output=True,
        text=True,
        timeout=240,
        env=browser_env(tmp_path),
    )
    outputs = sorted(glob.glob(str(tmp_path / "**" / "stdout.txt"), recursive=True))
    assert outputs, proc.stdout + proc.stderr
    report = json.loads(Path(outputs[-1]).read_text())
    got = levels(report)
    assert flagged(report) == CONFORMANCE[scenario], json.dumps([f for f in report["findings"] if f["level"] != "ok"], indent=1)
    for check in ["probe.sign-in", "probe.token-status", "probe.token-type", "probe.token-expires-in", "probe.token-fields", "probe.token-accepted", "as.oauth-metadata", "transport.versions"]:
        assert got[check] == "ok", (check, got[check])


def test_an_unreachable_server_is_an_error_that_names_the_cause():
    code, report = doctor("http://127.0.0.1:9/mcp")
    assert code == 2
    assert flagged(report) == {"net.connect": "error"}
