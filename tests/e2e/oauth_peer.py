"""The OAuth-protected MCP peer (tests/peers/oauth-mcp.mjs) as a context
manager: a real authorization server (oidc-provider) on one origin and the
MCP resource server on another, in front of an upstream MCP server.

    with OAuthMcp(everything_http, access_ttl=2) as peer:
        peer.issuer, peer.mcp_url, peer.control, peer.stats(), peer.reset()
"""

from __future__ import annotations

import json
import selectors
import subprocess
import tempfile
import time
import urllib.request
from typing import Any

from conftest import PEERS, node_bin

SCRIPT = PEERS.parent / "oauth-mcp.mjs"
READY_TIMEOUT = 20.0


class OAuthMcpError(RuntimeError):
    pass


class OAuthMcp:
    def __init__(
        self,
        upstream: str,
        access_ttl: int = 60,
        refresh_ttl: int = 86400,
        registration: bool = True,
        device_flow: bool = False,
        cimd: bool = False,
    ) -> None:
        self.args = ["--upstream", upstream, "--access-ttl", str(access_ttl), "--refresh-ttl", str(refresh_ttl)]
        if not registration:
            self.args.append("--no-registration")
        if device_flow:
            self.args.append("--device-flow")
        if cimd:
            self.args.append("--cimd")
        self.proc: subprocess.Popen[bytes] | None = None
        # A file, not a pipe: the peer logs every request, and nobody drains a
        # pipe while the test runs.
        self._stderr = tempfile.TemporaryFile()
        self.issuer = self.mcp_url = self.control = ""

    def __enter__(self) -> OAuthMcp:
        if not SCRIPT.exists():
            raise OAuthMcpError(f"{SCRIPT} is missing")
        self.proc = subprocess.Popen(
            [node_bin(), str(SCRIPT), *self.args],
            cwd=SCRIPT.parent,  # so `oidc-provider` resolves from tests/peers/node_modules
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        try:
            ready = json.loads(self._ready_line())
            self.issuer, self.mcp_url, self.control = ready["issuer"], ready["mcp"], ready["control"]
        except BaseException as e:
            self._stop()
            if isinstance(e, OAuthMcpError):
                raise
            raise OAuthMcpError(f"oauth-mcp did not start: {e!r}\n--- stderr ---\n{self.stderr()}") from e
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop()
        self._stderr.close()

    def _ready_line(self) -> str:
        assert self.proc is not None and self.proc.stdout is not None
        deadline = time.monotonic() + READY_TIMEOUT
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            while (left := deadline - time.monotonic()) > 0:
                if sel.select(left):
                    # The peer writes the whole line in one write, so this does not block.
                    line = self.proc.stdout.readline()
                    if not line:
                        self.proc.wait(5)
                        raise OAuthMcpError(f"oauth-mcp exited with {self.proc.returncode} before it was ready\n--- stderr ---\n{self.stderr()}")
                    return line.decode()
        raise OAuthMcpError(f"oauth-mcp was not ready within {READY_TIMEOUT:.0f} s\n--- stderr ---\n{self.stderr()}")

    def _stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def stderr(self) -> str:
        """What the peer logged so far (every request it saw, and its errors)."""
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    def _control(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.control}/{path}", data=data, method=method, headers={"content-type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as res:
                return json.loads(res.read())
        except OSError as e:
            raise OAuthMcpError(f"{method} {self.control}/{path} failed: {e!r}\n--- stderr ---\n{self.stderr()}") from e

    def stats(self) -> dict[str, Any]:
        """The counters of /test/stats: registrations, authorization requests,
        token requests by grant type and outcome, refresh events, MCP requests
        accepted and rejected, and the resource and scope of every request."""
        return self._control("GET", "stats")

    def reset(self) -> None:
        self._control("POST", "reset", {})

    def add_client_metadata_document(self, document: dict[str, Any]) -> None:
        """With cimd=True: the document the AS gets when it fetches document["client_id"]."""
        self._control("POST", "cimd", document)

    def approve_device(self, user_code: str) -> None:
        """With device_flow=True: what the user does on the verification page
        (enter the code, confirm); login and consent are automatic."""
        self._control("POST", "device/approve", {"user_code": user_code})
