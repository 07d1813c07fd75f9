#!/usr/bin/env python3
"""Plays Claude Desktop for the MCP conformance suite: the suite runs
`conformance_driver.py <server-url>`; this script launches `tether run
<server-url>` over stdio, as Claude Desktop would, and uses the server the
way a person in Claude does: initialize (protocol 2025-11-25, the 2025
handshake era Claude Desktop speaks, declaring roots, sampling and
elicitation), notifications/initialized, tools/list, then the tools: the
calls the scenario names in MCP_CONFORMANCE_CONTEXT (`toolCalls`), else
every tool listed, each with plausible arguments. When the server offers
prompts or resources, it lists them and gets or reads the first (a person
attaching a resource or picking a prompt). It answers what the server asks
of a host through the bridge: roots/list, sampling/createMessage,
elicitation/create (accepting, with the schema's defaults or plausible
values), ping. Exit 0 only when initialize, tools/list and every tool call
got a result.

With `--wire 2026-07-28` it is a client of the stateless wire instead: no
initialize, but `server/discover`, then tools/list and the tool calls, each
naming the protocol version and the client's capabilities in `_meta`
(Tether passes those through).

Environment: TETHER_BIN (the binary), MCP_CONFORMANCE_SCENARIO and
MCP_CONFORMANCE_CONTEXT (from the suite; pre-registered client credentials
for auth/pre-registration, tool calls for some scenarios). Tether gets a
fresh TETHER_HOME and the scripted browser (fake_browser.py) as BROWSER.
Extra arguments for `tether run` follow `--tether-args` (one string).
"""

from __future__ import annotations

import json
import os
import queue
import shlex
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
STATELESS_VERSION = "2026-07-28"
HOST_VERSION = "2025-11-25"
CAPABILITIES = {"roots": {"listChanged": True}, "sampling": {}, "elicitation": {}}
MAX_TOOL_CALLS = 20
# Scenarios whose server only lists tools: the host is expected to look at
# the schemas, not to call anything ("The client should list tools").
LIST_ONLY = {"json-schema-ref-no-deref"}


def log(*parts: object) -> None:
    print("[driver]", *parts, file=sys.stderr, flush=True)


def option(name: str) -> str | None:
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else None


def main() -> int:
    url = sys.argv[-1]
    stateless = option("--wire") == STATELESS_VERSION
    env = dict(os.environ)
    env["TETHER_HOME"] = tempfile.mkdtemp(prefix="tether-conformance-")
    env["BROWSER"] = str(HERE / "fake_browser.py")
    env.setdefault("FAKE_BROWSER_LOG", str(Path(env["TETHER_HOME"]) / "browser.log"))
    args = [TETHER, "run", url, "--client-metadata-url", CIMD_URL, "--auth-timeout", "20", "--debug"]
    args += shlex.split(option("--tether-args") or "")
    context = json.loads(os.environ.get("MCP_CONFORMANCE_CONTEXT") or "{}")
    if context.get("client_id"):
        args += ["--client-id", context["client_id"]]
        if context.get("client_secret"):
            # The secret travels in the environment, never in the arguments.
            env["CONFORMANCE_CLIENT_SECRET"] = context["client_secret"]
            args += ["--client-secret-env", "CONFORMANCE_CLIENT_SECRET"]
    log("scenario", os.environ.get("MCP_CONFORMANCE_SCENARIO"), "running", " ".join(args))
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    host = Host(proc, stateless)
    ok = False
    try:
        ok = host.use_the_server(context)
    finally:
        try:
            assert proc.stdin is not None
            proc.stdin.close()
            proc.wait(timeout=5)
        except Exception:  # noqa: BLE001 - best effort on the way out
            proc.kill()
    log("result:", "OK" if ok else "FAILED")
    return 0 if ok else 1


class Host:
    """The host side of the stdio connection."""

    def __init__(self, proc: subprocess.Popen, stateless: bool) -> None:
        self.proc = proc
        self.stateless = stateless
        self.messages: queue.Queue[dict | None] = queue.Queue()
        self.next_id = 1
        self.meta = {
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": STATELESS_VERSION,
                "io.modelcontextprotocol/clientCapabilities": CAPABILITIES,
                "io.modelcontextprotocol/clientInfo": {"name": "conformance-driver", "version": "1.0.0"},
            }
        } if stateless else {}
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.strip():
                try:
                    self.messages.put(json.loads(line))
                except ValueError:
                    log("not JSON on tether's stdout:", line[:200])
        self.messages.put(None)

    def send(self, message: dict) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(message) + "\n").encode())
        self.proc.stdin.flush()

    def request(self, method: str, params: dict) -> dict | None:
        rid = self.next_id
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": rid, "method": method, "params": {**params, **self.meta}})
        deadline = time.monotonic() + STEP_TIMEOUT
        while (left := deadline - time.monotonic()) > 0:
            try:
                m = self.messages.get(timeout=left)
            except queue.Empty:
                break
            if m is None:
                log(f"tether closed stdout before answering {method}")
                return None
            if "method" in m and "id" in m:
                self.answer(m)
                continue
            if m.get("id") == rid and "method" not in m:
                if "error" in m:
                    log(f"{method} -> error {json.dumps(m['error'])[:400]}")
                    return None
                log(f"{method} -> ok")
                return m.get("result")
        log(f"no answer to {method} within {STEP_TIMEOUT} s")
        return None

    def answer(self, m: dict) -> None:
        """A request from the server, through the bridge: answered as a host would."""
        method, params = m["method"], m.get("params") or {}
        log(f"the server asks for {method}")
        if method == "ping":
            result: dict = {}
        elif method == "roots/list":
            result = {"roots": [{"uri": "file:///tmp/conformance-project", "name": "project"}]}
        elif method == "sampling/createMessage":
            result = {"role": "assistant", "content": {"type": "text", "text": "42"}, "model": "conformance-driver", "stopReason": "endTurn"}
        elif method == "elicitation/create":
            result = {"action": "accept", "content": fill(params.get("requestedSchema") or {})}
        else:
            self.send({"jsonrpc": "2.0", "id": m["id"], "error": {"code": -32601, "message": "not supported by the driver"}})
            return
        self.send({"jsonrpc": "2.0", "id": m["id"], "result": result})

    def use_the_server(self, context: dict) -> bool:
        client_info = {"name": "conformance-driver", "version": "1.0.0"}
        if self.stateless:
            found = self.request("server/discover", {})
            capabilities = (found or {}).get("capabilities") or {}
        else:
            found = self.request("initialize", {"protocolVersion": HOST_VERSION, "capabilities": CAPABILITIES, "clientInfo": client_info})
            capabilities = (found or {}).get("capabilities") or {}
            if found is not None:
                self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        if found is None:
            return False
        if "prompts" in capabilities:
            prompts = self.request("prompts/list", {}) or {}
            for p in (prompts.get("prompts") or [])[:1]:
                self.request("prompts/get", {"name": p["name"], "arguments": {a["name"]: "x" for a in p.get("arguments") or [] if a.get("required")}})
        if "resources" in capabilities:
            resources = self.request("resources/list", {}) or {}
            for r in (resources.get("resources") or [])[:1]:
                self.request("resources/read", {"uri": r["uri"]})
        tools = self.list_tools()
        if tools is None:
            return False
        calls = [(c["name"], c.get("arguments") or {}) for c in context.get("toolCalls") or []]
        scenario = os.environ.get("MCP_CONFORMANCE_SCENARIO", "")
        if scenario in LIST_ONLY:
            calls = []
        elif scenario == "json-schema-2020-12-preservation":
            # Its "Client Implementation Requirements": pass the focal
            # tool's inputSchema, as received, to the echo tool.
            focal = next((t for t in tools if t["name"] != "json_schema_echo"), None)
            calls = [("json_schema_echo", {"schema": focal["inputSchema"]})] if focal else []
        elif not calls:
            calls = [(t["name"], arguments(t)) for t in tools[:MAX_TOOL_CALLS]]
        ok = True
        for name, args in calls:
            ok = self.request("tools/call", {"name": name, "arguments": args}) is not None and ok
        return ok

    def list_tools(self) -> list[dict] | None:
        tools: list[dict] = []
        cursor = None
        for _ in range(10):
            page = self.request("tools/list", {"cursor": cursor} if cursor else {})
            if page is None:
                return None
            tools += page.get("tools") or []
            cursor = page.get("nextCursor")
            if not cursor:
                break
        return tools


def arguments(tool: dict) -> dict:
    """Plausible values for the tool's required arguments."""
    schema = tool.get("inputSchema") or {}
    values = {"number": 1, "integer": 1, "string": "x", "boolean": True}
    return {k: values.get((schema.get("properties") or {}).get(k, {}).get("type"), "x") for k in schema.get("required", [])}


def fill(schema: dict) -> dict:
    """An elicitation answer: each field's default, else a plausible value."""
    values = {"number": 1, "integer": 1, "string": "x", "boolean": True}
    out = {}
    for name, prop in (schema.get("properties") or {}).items():
        if "default" in prop:
            out[name] = prop["default"]
        elif prop.get("enum"):
            out[name] = prop["enum"][0]
        else:
            out[name] = values.get(prop.get("type"), "x")
    return out


if __name__ == "__main__":
    sys.exit(main())
