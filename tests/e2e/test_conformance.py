"""The official MCP conformance suite (npm @modelcontextprotocol/conformance)
against the built `tether`, run as Claude Desktop runs it: the suite starts
its test servers and runs conformance_driver.py, which launches `tether run`
over stdio and plays a 2025-era host (initialize, notifications/initialized,
tools/list, tools/call, answering roots, sampling and elicitation). The
verdict is the suite's own (no FAILURE and no WARNING check, the client
exited 0).

Scenarios: every client auth scenario of 0.1.16 (the 2025-11-25 set,
backwards compatibility and drafts) and its Streamable HTTP and core
scenarios; every client scenario of 0.2.0-alpha.12 that is not an
extension: the 27 auth scenarios and the 2026-07-28 core ones, at the
stateless 2026-07-28 wire wherever a scenario runs at both (`--spec-version
2026-07-28`), so Tether translates for the 2025-era host. Some run a second
time with a host of the stateless wire (the driver's `--wire 2026-07-28`),
which Tether passes through. Not run: the client-credentials, cross-app,
DPoP, workload-identity and skills extensions, machine-to-machine grants and
host features a desktop bridge does not offer. They run four at a time."""

from __future__ import annotations

import concurrent.futures
import glob
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PEERS, node_bin

HERE = Path(__file__).resolve().parent
SUITES = {
    "0.1.16": PEERS / "@modelcontextprotocol" / "conformance" / "dist" / "index.js",
    "0.2.0-alpha.12": PEERS / "conformance-next" / "dist" / "index.js",
}

STABLE = [
    "initialize",
    "tools_call",
    "sse-retry",
    "elicitation-sep1034-client-defaults",
    "auth/metadata-default",
    "auth/metadata-var1",
    "auth/metadata-var2",
    "auth/metadata-var3",
    "auth/basic-cimd",
    "auth/scope-from-www-authenticate",
    "auth/scope-from-scopes-supported",
    "auth/scope-omitted-when-undefined",
    "auth/scope-step-up",
    "auth/scope-retry-limit",
    "auth/token-endpoint-auth-basic",
    "auth/token-endpoint-auth-post",
    "auth/token-endpoint-auth-none",
    "auth/pre-registration",
    "auth/2025-03-26-oauth-metadata-backcompat",
    "auth/2025-03-26-oauth-endpoint-fallback",
    "auth/resource-mismatch",
    "auth/offline-access-scope",
    "auth/offline-access-not-supported",
]
# 0.2.0-alpha.12, at the 2026-07-28 wire (scenarios of both eras are
# pinned there; the 2026-only ones run there anyway).
NEXT_2026 = [
    "auth/metadata-default",
    "auth/metadata-var1",
    "auth/metadata-var2",
    "auth/metadata-var3",
    "auth/basic-cimd",
    "auth/scope-from-www-authenticate",
    "auth/scope-from-scopes-supported",
    "auth/scope-omitted-when-undefined",
    "auth/scope-step-up",
    "auth/scope-retry-limit",
    "auth/token-endpoint-auth-basic",
    "auth/token-endpoint-auth-post",
    "auth/token-endpoint-auth-none",
    "auth/pre-registration",
    "auth/resource-mismatch",
    "auth/offline-access-scope",
    "auth/offline-access-not-supported",
    "auth/authorization-server-migration",
    "auth/iss-supported",
    "auth/iss-not-advertised",
    "auth/iss-supported-missing",
    "auth/iss-wrong-issuer",
    "auth/iss-unexpected",
    "auth/iss-normalized",
    "auth/metadata-issuer-mismatch",
    "tools_call",
    "request-metadata",
    "http-standard-headers",
    "http-custom-headers",
    "http-invalid-tool-headers",
    "sep-2322-client-request-state",
    "json-schema-ref-no-deref",
    "json-schema-2020-12-preservation",
]
# 0.2.0-alpha.12 scenarios of the 2025-03-26 era only.
NEXT_LEGACY = [
    "auth/2025-03-26-oauth-metadata-backcompat",
    "auth/2025-03-26-oauth-endpoint-fallback",
]
# With a host that speaks the stateless wire itself (passed through, with
# the SEP-2243 headers Tether adds).
NEXT_MODERN_HOST = [
    "tools_call",
    "auth/iss-supported",
    "http-standard-headers",
    "http-custom-headers",
    "http-invalid-tool-headers",
]
# Scenarios that cannot pass for a reason that is not a Tether bug; strict, so
# CI notices when one starts passing.
EXPECTED_FAILURES: dict[tuple[str, str, str, str], str] = {}

NEXT = "0.2.0-alpha.12"
CASES = (
    [("0.1.16", s, "", "legacy") for s in STABLE]
    + [(NEXT, s, "2026-07-28", "legacy") for s in NEXT_2026]
    + [(NEXT, s, "", "legacy") for s in NEXT_LEGACY]
    + [(NEXT, s, "2026-07-28", "modern") for s in NEXT_MODERN_HOST]
)


def case_id(case: tuple[str, str, str, str]) -> str:
    version, scenario, spec, host = case
    return f"{version}:{scenario}" + (f"@{spec}" if spec else "") + (" (modern host)" if host == "modern" else "")


pytestmark = [
    pytest.mark.skipif(
        not os.environ.get("DBUS_SESSION_BUS_ADDRESS"),
        reason="needs a Secret Service: tests/run runs the tests in a D-Bus session with gnome-keyring",
    ),
    # The first test's set-up runs every scenario (the session fixture), four
    # at a time: about 90 s on an idle 2-core machine, more on a busy one.
    pytest.mark.timeout(900),
]


def run_scenario(version: str, scenario: str, spec: str, host: str, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    wire = " --wire 2026-07-28" if host == "modern" else ""
    command = f"{sys.executable} {HERE / 'conformance_driver.py'}{wire}"
    proc = subprocess.run(
        [node_bin(), str(SUITES[version]), "client", "--command", command, "--scenario", scenario, "-o", str(out), "--timeout", "30000"]
        + (["--spec-version", spec] if spec else []),
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "TETHER_BIN": os.environ.get("TETHER_BIN", str(HERE.parents[1] / "target" / "debug" / "tether"))},
    )
    checks: list = []
    files = sorted(glob.glob(str(out / "**" / "checks.json"), recursive=True))
    if files:
        checks = json.loads(Path(files[-1]).read_text())
    stderr = ""
    logs = sorted(glob.glob(str(out / "**" / "stderr.txt"), recursive=True))
    if logs:
        stderr = Path(logs[-1]).read_text(errors="replace")
    return {"code": proc.returncode, "checks": checks, "runner": proc.stdout + proc.stderr, "client_stderr": stderr}


@pytest.fixture(scope="session")
def results(tmp_path_factory) -> dict:
    base = tmp_path_factory.mktemp("conformance")
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        futures = {
            c: pool.submit(run_scenario, *c, base / f"{i:02d}-{c[1].replace('/', '_')}")
            for i, c in enumerate(CASES)
        }
        return {k: f.result() for k, f in futures.items()}


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_the_conformance_scenario_passes(results, case, request):
    if case in EXPECTED_FAILURES:
        request.applymarker(pytest.mark.xfail(strict=True, reason=EXPECTED_FAILURES[case]))
    r = results[case]
    scenario = case[1]
    bad = [f"{c['status']} {c['id']}: {c.get('errorMessage') or c.get('description', '')}" for c in r["checks"] if c.get("status") in ("FAILURE", "WARNING")]
    detail = "\n".join(bad) or r["runner"][-2000:]
    assert r["code"] == 0 and r["checks"], f"{scenario} failed:\n{detail}\n--- tether (last lines) ---\n{r['client_stderr'][-3000:]}"
