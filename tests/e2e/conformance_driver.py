#!/usr/bin/env python3
"""Plays Claude Desktop for the MCP conformance suite: the suite runs
`conformance_driver.py <server-url>`; this script launches `tether run
<server-url>` over stdio, as Claude Desktop would, and drives it through
initialize, notifications/initialized, tools/list and a tools/call, then
closes stdin. Exit 0 only when every request got a result.

With `--wire 2026-07-28` it speaks the stateless wire of that revision
instead (as the 0.2 suite's servers expect): no initialize, but
`server/discover`, then tools/list and tools/call, each naming the protocol
version and the client's capabilities in `_meta`. Tether forwards those
messages untouched and repeats the version in the MCP-Protocol-Version
header.

Environment: TETHER_BIN (the binary), MCP_CONFORMANCE_SCENARIO and
MCP_CONFORMANCE_CONTEXT (from the suite; pre-registered client credentials
for auth/pre-registration). Tether gets a fresh TETHER_HOME and the scripted
browser (fake_browser.py) as BROWSER.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TETHER = os.environ.get("TETHER_BIN") or str(HERE.parents[1] / "target" / "debug" / "tether")
STEP_TIMEOUT = 25.0
CIMD_URL = "https://conformance-test.local/client-metadata.json"


def log(*parts: object) -> None:
    print("[driver]", *parts, file=sys.stderr, flush=True)


STATELESS_VERSION = "2026-07-28"


def main() -> int:
    url = sys.argv[-1]
    stateless = "--wire" in sys.argv and sys.argv[sys.argv.index("--wire") + 1] == STATELESS_VERSION
    env = dict(os.environ)
    env["TETHER_HOME"] = tempfile.mkdtemp(prefix="tether-conformance-")
    env["BROWSER"] = str(HERE / "fake_browser.py")
    env.setdefault("FAKE_BROWSER_LOG", str(Path(env["TETHER_HOME"]) / "browser.log"))
    args = [TETHER, "run", url, "--client-metadata-url", CIMD_URL, "--auth-timeout", "20", "--debug"]
    context = json.loads(os.environ.get("MCP_CONFORMANCE_CONTEXT") or "{}")
    if context.get("client_id"):
        args += ["--client-id", context["client_id"]]
        if context.get("client_secret"):
            # The secret travels in the environment, never in the arguments.
            env["CONFORMANCE_CLIENT_SECRET"] = context["client_secret"]
            args += ["--client-secret-env", "CONFORMANCE_CLIENT_SECRET"]
    log("scenario", os.environ.get("MCP_CONFORMANCE_SCENARIO"), "running", " ".join(args))
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    messages: queue.Queue[dict | None] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.strip():
                try:
                    messages.put(json.loads(line))
                except ValueError:
                    log("not JSON on tether's stdout:", line[:200])
        messages.put(None)

    threading.Thread(target=read, daemon=True).start()

    def send(message: dict) -> None:
        assert proc.stdin is not None
        proc.stdin.write((json.dumps(message) + "\n").encode())
        proc.stdin.flush()

    def request(rid: int, method: str, params: dict) -> dict | None:
        send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        deadline = time.monotonic() + STEP_TIMEOUT
        while (left := deadline - time.monotonic()) > 0:
            try:
                m = messages.get(timeout=left)
            except queue.Empty:
                break
            if m is None:
                log(f"tether closed stdout before answering {method}")
                return None
            if "method" in m and "id" in m:  # a request from the server
                if m["method"] == "ping":
                    send({"jsonrpc": "2.0", "id": m["id"], "result": {}})
                else:
                    send({"jsonrpc": "2.0", "id": m["id"], "error": {"code": -32601, "message": "not supported by the driver"}})
                continue
            if m.get("id") == rid and "method" not in m:
                if "error" in m:
                    log(f"{method} -> error {json.dumps(m['error'])[:400]}")
                    return None
                log(f"{method} -> ok")
                return m.get("result")
        log(f"no answer to {method} within {STEP_TIMEOUT} s")
        return None

    ok = False
    try:
        client_info = {"name": "conformance-driver", "version": "1.0.0"}
        if stateless:
            meta = {"_meta": {"io.modelcontextprotocol/protocolVersion": STATELESS_VERSION, "io.modelcontextprotocol/clientCapabilities": {}, "io.modelcontextprotocol/clientInfo": client_info}}
            ready = request(1, "server/discover", dict(meta)) is not None
        else:
            meta = {}
            init = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": client_info}
            ready = request(1, "initialize", init) is not None
            if ready:
                send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        if ready:
            tools = request(2, "tools/list", dict(meta))
            if tools is not None:
                tool = pick(tools.get("tools", []))
                ok = tool is None or request(3, "tools/call", {"name": tool["name"], "arguments": arguments(tool), **meta}) is not None
    finally:
        try:
            assert proc.stdin is not None
            proc.stdin.close()
            proc.wait(timeout=5)
        except Exception:  # noqa: BLE001 - best effort on the way out
            proc.kill()
    log("result:", "OK" if ok else "FAILED")
    return 0 if ok else 1


def pick(tools: list[dict]) -> dict | None:
    """The scenario's tool: `test-tool` in the auth scenarios, else the first."""
    for t in tools:
        if t.get("name") == "test-tool":
            return t
    return tools[0] if tools else None


def arguments(tool: dict) -> dict:
    """Plausible values for the tool's required arguments."""
    schema = tool.get("inputSchema") or {}
    values = {"number": 1, "integer": 1, "string": "x", "boolean": True}
    return {k: values.get((schema.get("properties") or {}).get(k, {}).get("type"), "x") for k in schema.get("required", [])}


if __name__ == "__main__":
    sys.exit(main())
