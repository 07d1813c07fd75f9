"""The official MCP conformance suite (npm @modelcontextprotocol/conformance)
against the built `tether`, run as Claude Desktop runs it: the suite starts
its test servers and runs conformance_driver.py, which launches `tether run`
over stdio. The verdict is the suite's own (no FAILURE and no WARNING check).

Scenarios: every client auth scenario of 0.1.16 (the 2025-11-25 set,
backwards compatibility and drafts; not the client-credentials and
cross-app extensions, which are machine-to-machine grants a desktop bridge
does not use), its Streamable HTTP scenarios, and the RFC 9207 (`iss`) and
issuer scenarios of 0.2.0-alpha.12. They run four at a time."""

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
NEXT = [
    "auth/iss-supported",
    "auth/iss-not-advertised",
    "auth/iss-supported-missing",
    "auth/iss-wrong-issuer",
    "auth/iss-unexpected",
    "auth/iss-normalized",
    "auth/metadata-issuer-mismatch",
]
# Scenarios that cannot pass for a reason that is not a Tether bug; strict, so
# CI notices when one starts passing.
EXPECTED_FAILURES: dict[tuple[str, str], str] = {}

CASES = [("0.1.16", s) for s in STABLE] + [("0.2.0-alpha.12", s) for s in NEXT]

pytestmark = pytest.mark.skipif(
    not os.environ.get("DBUS_SESSION_BUS_ADDRESS"),
    reason="needs a Secret Service: tests/run runs the tests in a D-Bus session with gnome-keyring",
)


def run_scenario(version: str, scenario: str, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    # The 0.2 suite's servers speak only the 2026-07-28 stateless wire.
    wire = " --wire 2026-07-28" if version.startswith("0.2") else ""
    command = f"{sys.executable} {HERE / 'conformance_driver.py'}{wire}"
    proc = subprocess.run(
        [node_bin(), str(SUITES[version]), "client", "--command", command, "--scenario", scenario, "-o", str(out), "--timeout", "30000"],
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
        futures = {(v, s): pool.submit(run_scenario, v, s, base / v / s.replace("/", "_")) for v, s in CASES}
        return {k: f.result() for k, f in futures.items()}


@pytest.mark.parametrize("version,scenario", CASES, ids=[f"{v}:{s}" for v, s in CASES])
def test_the_conformance_scenario_passes(results, version, scenario, request):
    if (version, scenario) in EXPECTED_FAILURES:
        request.applymarker(pytest.mark.xfail(strict=True, reason=EXPECTED_FAILURES[(version, scenario)]))
    r = results[(version, scenario)]
    bad = [f"{c['status']} {c['id']}: {c.get('errorMessage') or c.get('description', '')}" for c in r["checks"] if c.get("status") in ("FAILURE", "WARNING")]
    detail = "\n".join(bad) or r["runner"][-2000:]
    assert r["code"] == 0 and r["checks"], f"{scenario} failed:\n{detail}\n--- tether (last lines) ---\n{r['client_stderr'][-3000:]}"
