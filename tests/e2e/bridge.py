"""Drives the built `tether` binary over stdio, byte by byte, the way Claude
Desktop does: one JSON-RPC message per line in, one per line out.

Used where a test must assert the exact bytes of a reply; tests of MCP
behaviour use the official Python SDK client instead (see conftest.py).
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def tether_bin() -> str:
    """The binary under test: $TETHER_BIN, else the workspace's debug build."""
    return os.environ.get("TETHER_BIN") or str(ROOT / "target" / "debug" / "tether")


INIT = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw-test", "version": "1"}},
}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}


class RawBridge:
    """A running `tether run` with its stdin, stdout and stderr."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, home: Path | None = None) -> None:
        full_env = dict(os.environ)
        if home is not None:
            full_env["TETHER_HOME"] = str(home)
        full_env.update(env or {})
        self.args = [tether_bin(), *args]
        self.proc = subprocess.Popen(
            self.args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=full_env,
        )
        self._lines: queue.Queue[bytes | None] = queue.Queue()
        self.stdout_raw: list[bytes] = []
        self.stderr = b""
        self.other: list[dict[str, Any]] = []
        # Responses that arrived while waiting for another id.
        self._stash: list[tuple[bytes, dict[str, Any]]] = []
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in iter(self.proc.stdout.readline, b""):
            self.stdout_raw.append(line)
            self._lines.put(line)
        self._lines.put(None)

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        chunks = []
        for chunk in iter(lambda: self.proc.stderr.read1(4096), b""):
            chunks.append(chunk)
            self.stderr = b"".join(chunks)

    def send_raw(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def send(self, message: dict[str, Any]) -> None:
        self.send_raw(json.dumps(message).encode() + b"\n")

    def recv_line(self, timeout: float = 10) -> bytes:
        line = self._lines.get(timeout=timeout)
        if line is None:
            raise EOFError(f"tether closed stdout; stderr:\n{self.stderr.decode(errors='replace')}")
        assert line.endswith(b"\n")
        return line[:-1]

    def recv(self, timeout: float = 10) -> dict[str, Any]:
        return json.loads(self.recv_line(timeout))

    def recv_response(self, rid: Any, timeout: float = 10) -> dict[str, Any]:
        """The next response with `rid`; other messages are collected in `self.other`."""
        return json.loads(self.recv_response_line(rid, timeout))

    def recv_response_line(self, rid: Any, timeout: float = 10) -> bytes:
        """The exact line of the next response with `rid`."""
        for i, (line, msg) in enumerate(self._stash):
            if msg.get("id") == rid and "method" not in msg:
                del self._stash[i]
                return line
        deadline = time.monotonic() + timeout
        while True:
            line = self.recv_line(max(0.01, deadline - time.monotonic()))
            msg = json.loads(line)
            if isinstance(msg, dict) and msg.get("id") == rid and "method" not in msg:
                return line
            self.other.append(msg)
            if isinstance(msg, dict) and "method" not in msg:
                self._stash.append((line, msg))

    def nothing_more(self, wait: float = 0.5) -> bool:
        """True when no line arrives within `wait` seconds."""
        try:
            line = self._lines.get(timeout=wait)
        except queue.Empty:
            return True
        self._lines.put(line)
        return False

    def initialize(self) -> dict[str, Any]:
        self.other = []
        self.send(INIT)
        reply = self.recv_response(0)
        self.send(INITIALIZED)
        return reply

    def close_stdin(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()

    def signal(self, sig: int = signal.SIGTERM) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 10) -> int:
        return self.proc.wait(timeout=timeout)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def assert_stdout_is_json_rpc_only(self) -> None:
        """Every byte tether wrote to stdout is a JSON-RPC message on its own line."""
        for line in self.stdout_raw:
            assert line.endswith(b"\n") and b"\n" not in line[:-1]
            msg = json.loads(line)
            assert isinstance(msg, (dict, list)), line[:200]
            for m in msg if isinstance(msg, list) else [msg]:
                assert m.get("jsonrpc") == "2.0" or "result" in m or "error" in m or "method" in m, line[:200]

    def __enter__(self) -> "RawBridge":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
