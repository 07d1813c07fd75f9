"""Every MCP era: a 2025-era client (Claude Desktop's `initialize`,
`notifications/initialized`, then requests) reaching a server of the
stateless 2026-07-28 revision through `tether run`, and a client of that
revision passed through.

Against the official MCP Python SDK 2.x server (dual-era; sdk_server.py)
for the real round trips: elicitation, sampling and roots through
multi-round-trip results, list changes through `subscriptions/listen`. Against
FakeModern (fakes.py), byte by byte, for what no peer offers on cue: the
exact wire, a stream cut before its answer, several input rounds, an unknown
result type, cancellation, remembering the era."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client, StdioServerParameters

from bridge import INIT, INITIALIZED, RawBridge, tether_bin
from conftest import free_port, wait_for_port
from fakes import FakeMcp, FakeModern

HERE = Path(__file__).resolve().parent
MODERN = "2026-07-28"
# A 2025-era host that answers what a server may ask of it.
HOST_INIT = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {"roots": {"listChanged": True}, "sampling": {}, "elicitation": {}},
        "clientInfo": {"name": "era-test-host", "version": "3"},
    },
}


def call(rid: Any, name: str, arguments: dict | None = None, **params: Any) -> dict:
    return {"jsonrpc": "2.0", "id": rid, "method": "tools/call", "params": {"name": name, "arguments": arguments or {}, **params}}


def text_of(reply: dict) -> str:
    return reply["result"]["content"][0]["text"]


def start(b: RawBridge, init: dict = HOST_INIT) -> dict:
    b.send(init)
    reply = b.recv_response(init["id"])
    b.send(INITIALIZED)
    return reply


@pytest.fixture
def modern():
    with FakeModern() as f:
        yield f


# --- the translation, byte by byte (FakeModern) -------------------------------


def test_initialize_is_answered_from_server_discover_at_the_clients_own_version(modern, home):
    with RawBridge("run", modern.url, home=home) as b:
        reply = b.initialize()
        assert reply["result"] == {
            "protocolVersion": "2025-06-18",
            "capabilities": {"tools": {"listChanged": True}, "resources": {"subscribe": True}},
            "serverInfo": {"name": "fake-modern", "version": "7"},
            "instructions": "A fake of the stateless wire.",
        }
        b.send(call(1, "echo", {"a": 1}))
        assert text_of(b.recv_response(1)) == '{"a":1}'
        b.close_stdin()
        assert b.wait(5) == 0
        b.assert_stdout_is_json_rpc_only()
    first, discover = modern.seen[0], modern.requests("server/discover")[0]
    assert first.json()["method"] == "initialize", "initialize goes first, as to any server"
    assert first.headers["mcp-protocol-version"] == "2025-06-18"
    assert first.headers["mcp-method"] == "initialize"
    assert discover.headers["mcp-protocol-version"] == MODERN
    assert discover.headers["mcp-method"] == "server/discover"
    meta = discover.json()["params"]["_meta"]
    assert meta["io.modelcontextprotocol/protocolVersion"] == MODERN
    assert meta["io.modelcontextprotocol/clientCapabilities"] == INIT["params"]["capabilities"]
    assert meta["io.modelcontextprotocol/clientInfo"] == INIT["params"]["clientInfo"]
    assert not modern.requests("notifications/initialized"), "the stateless wire has no initialized notification"
    assert not [s for s in modern.seen if s.method != "POST"], "no GET stream, no DELETE: there is no session"


def test_every_request_gets_the_meta_and_headers_and_its_answer_comes_back_byte_for_byte(modern, home):
    with RawBridge("run", modern.url, home=home) as b:
        start(b)
        b.send({"jsonrpc": "2.0", "id": "list", "method": "tools/list"})
        b.recv_response("list")
        request = call("x-1", "headers", {"region": "Zürich", "note": "n"}, futureField=[1, 2.50], _meta={"progressToken": "t"})
        line = json.dumps(request).replace('"futureField": [1, 2.5]', '"futureField": [1, 2.50]')
        b.send_raw(line.encode() + b"\n")
        answer = b.recv_response_line("x-1")
    seen = modern.requests("tools/call")[-1]
    assert seen.headers["mcp-protocol-version"] == MODERN
    assert seen.headers["mcp-method"] == "tools/call"
    assert seen.headers["mcp-name"] == "headers"
    assert seen.headers["mcp-param-region"] == "=?base64?" + base64.b64encode("Zürich".encode()).decode() + "?="
    assert "mcp-param-note" not in seen.headers, "only annotated parameters are mirrored"
    body = seen.body.decode()
    assert '"id": "x-1"' in body and '"futureField": [1, 2.50]' in body, "ids and unknown fields pass as they were written"
    meta = seen.json()["params"]["_meta"]
    assert meta["progressToken"] == "t", "the client's own _meta stays"
    assert meta["io.modelcontextprotocol/protocolVersion"] == MODERN
    assert meta["io.modelcontextprotocol/clientInfo"] == HOST_INIT["params"]["clientInfo"]
    assert meta["io.modelcontextprotocol/clientCapabilities"] == HOST_INIT["params"]["capabilities"]
    direct = json.dumps(
        {"jsonrpc": "2.0", "id": "x-1", "result": {"content": [{"type": "text", "text": f"region header: {seen.headers['mcp-param-region']}"}]}},
        separators=(",", ":"),
    )
    assert answer.decode() == direct, "the server's answer reaches the client as the server wrote it"


def test_ping_and_the_log_level_are_answered_by_tether_and_the_level_rides_every_request(modern, home):
    with RawBridge("run", modern.url, home=home) as b:
        start(b)
        b.send({"jsonrpc": "2.0", "id": 1, "method": "ping"})
        assert b.recv_response(1) == {"jsonrpc": "2.0", "id": 1, "result": {}}
        b.send({"jsonrpc": "2.0", "id": 2, "method": "logging/setLevel", "params": {"level": "warning"}})
        assert b.recv_response(2)["result"] == {}
        b.send(call(3, "echo"))
        b.recv_response(3)
    assert not modern.requests("ping") and not modern.requests("logging/setLevel"), "2026-07-28 has neither"
    meta = modern.requests("tools/call")[-1].json()["params"]["_meta"]
    assert meta["io.modelcontextprotocol/logLevel"] == "warning"


def test_a_stream_cut_before_its_answer_is_sent_again_once_with_a_new_id(modern, home):
    with RawBridge("run", modern.url, home=home) as b:
        start(b)
        b.send(call(5, "cut"))
        assert text_of(b.recv_response(5)) == "made it"
        assert [m["method"] for m in b.other] == ["notifications/progress", "notifications/progress"]
        modern.cuts = 100
        b.send(call(6, "cut"))
        reply = b.recv_response(6)
        assert reply["error"]["data"]["reason"] == "protocol"
        assert "closed the response stream before answering" in reply["error"]["message"]
    ids = [s.json()["id"] for s in modern.requests("tools/call")]
    assert ids[0] == 5 and isinstance(ids[1], str) and ids[1] != 5, "the retry has an id of its own"
    assert ids[2] == 6 and len(ids) == 4, "a request is sent again once, not more"


def test_several_input_rounds_reach_the_client_and_each_retry_echoes_the_servers_state(modern, home):
    with RawBridge("run", modern.url, home=home) as b:
        start(b)
        b.send(call("r", "rounds", {"n": 3}))
        asked = []
        for i in range(3):
            q = b.recv()
            assert q["method"] == "elicitation/create" and q["params"]["message"] == f"question {i + 1}?"
            asked.append(q["id"])
            b.send({"jsonrpc": "2.0", "id": q["id"], "result": {"action": "accept", "content": {"answer": f"a{i + 1}"}}})
        reply = b.recv_response("r")
        assert text_of(reply) == 'after 3 rounds: {"q3":{"action":"accept","content":{"answer":"a3"}}}'
        assert b.nothing_more(), "the client sees one answer to its one request"
    assert len(set(asked)) == 3
    posts = modern.requests("tools/call")
    assert len(posts) == 4
    assert [p.json()["params"].get("requestState") for p in posts] == [None, "round-1", "round-2", "round-3"]
    ids = [p.json()["id"] for p in posts]
    assert ids[0] == "r" and len(set(ids)) == 4, "every retry is a new JSON-RPC request"


def test_sampling_and_roots_are_asked_of_the_client_as_the_requests_it_knows(modern, home):
    with RawBridge("run", modern.url, home=home) as b:
        start(b)
        b.send(call(1, "rounds", {"n": 1, "kind": "sampling"}))
        q = b.recv()
        assert q["method"] == "sampling/createMessage" and q["params"]["maxTokens"] == 5
        b.send({"jsonrpc": "2.0", "id": q["id"], "result": {"role": "assistant", "content": {"type": "text", "text": "4"}, "model": "m"}})
        assert '"text":"4"' in text_of(b.recv_response(1))
        b.send(call(2, "rounds", {"n": 1, "kind": "roots"}))
        q = b.recv()
        assert q["method"] == "roots/list"
        b.send({"jsonrpc": "2.0", "id": q["id"], "result": {"roots": [{"uri": "file:///w"}]}})
        assert "file:///w" in text_of(b.recv_response(2))


def test_input_a_client_did_not_declare_is_an_error_and_rounds_are_bounded(modern, home):
    with RawBridge("run", modern.url, home=home) as b:
        b.initialize()  # declares no capabilities
        b.send(call(1, "rounds", {"n": 1, "kind": "sampling"}))
        reply = b.recv_response(1)
        assert "sampling/createMessage" in reply["error"]["message"] and "did not declare" in reply["error"]["message"]
        assert not [m for m in b.other if m.get("method") == "sampling/createMessage"]
    with RawBridge("run", modern.url, home=home) as b:
        start(b)
        b.send(call(2, "rounds", {"n": 50}))
        rounds = 0
        while True:
            m = b.recv()
            if m.get("id") == 2:
                break
            rounds += 1
            b.send({"jsonrpc": "2.0", "id": m["id"], "result": {"action": "accept", "content": {"answer": "again"}}})
        assert rounds == 10
        assert "asked for more input 10 times" in m["error"]["message"]


def test_an_unknown_result_type_becomes_a_clear_error(modern, home):
    with RawBridge("run", modern.url, home=home) as b:
        start(b)
        b.send(call(1, "weird"))
        reply = b.recv_response(1)
    assert reply["error"]["code"] == -32000
    assert '"grafted"' in reply["error"]["message"]


def test_the_client_cancelling_a_request_closes_its_stream(modern, home):
    with RawBridge("run", modern.url, home=home) as b:
        start(b)
        b.send(call(9, "slow"))
        time.sleep(0.5)
        b.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 9, "reason": "user"}})
        deadline = time.monotonic() + 5
        while not modern.cancelled and time.monotonic() < deadline:
            time.sleep(0.05)
        assert modern.cancelled == [9]
        assert b.nothing_more(1.0), "a cancelled request gets no answer"
    assert not modern.requests("notifications/cancelled"), "on this wire the closed stream is the cancellation"


def test_a_cancelled_request_withdraws_the_questions_it_asked_the_client(modern, home):
    with RawBridge("run", modern.url, home=home) as b:
        start(b)
        b.send(call(4, "rounds", {"n": 1}))
        q = b.recv()
        assert q["method"] == "elicitation/create"
        b.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 4}})
        withdrawn = b.recv()
        assert withdrawn == {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": q["id"], "reason": "the request was cancelled"}}
        assert b.nothing_more(0.5)


def test_tools_with_invalid_x_mcp_header_annotations_are_left_out(modern, home):
    with RawBridge("run", modern.url, home=home) as b:
        start(b)
        b.send({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        listing = b.recv_response_line(1)
        b.close_stdin()
        assert b.wait(5) == 0
        err = b.stderr.decode()
    tools = [t["name"] for t in json.loads(listing)["result"]["tools"]]
    assert tools == ["echo", "headers", "cut", "rounds", "weird", "slow"]
    assert "the server's tool is left out" in err and "tool=bad" in err, "the rejection is logged with the tool's name"
    kept = [t for t in FakeModern.TOOLS if t["name"] != "bad"]
    server_bytes = json.dumps({"jsonrpc": "2.0", "id": 1, "result": {"resultType": "complete", "ttlMs": 0, "cacheScope": "private", "tools": kept}})
    assert listing.decode() == server_bytes, "the other tools pass as the server wrote them"


def test_resource_subscriptions_and_list_changes_come_through_subscriptions_listen(modern, home):
    with RawBridge("run", modern.url, home=home) as b:
        start(b)
        deadline = time.monotonic() + 5
        while not modern.listens and time.monotonic() < deadline:
            time.sleep(0.05)
        assert modern.listens == [{"toolsListChanged": True}], "only what the server announces"
        b.send({"jsonrpc": "2.0", "id": 1, "method": "resources/subscribe", "params": {"uri": "memo://a"}})
        assert b.recv_response(1)["result"] == {}
        while len(modern.listens) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert modern.listens[-1] == {"toolsListChanged": True, "resourceSubscriptions": ["memo://a"]}
        time.sleep(0.3)
        modern.push({"jsonrpc": "2.0", "method": "notifications/resources/updated", "params": {"uri": "memo://a"}})
        assert b.recv(5) == {"jsonrpc": "2.0", "method": "notifications/resources/updated", "params": {"uri": "memo://a"}}
        modern.push({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})
        assert b.recv(5)["method"] == "notifications/tools/list_changed"
        b.send({"jsonrpc": "2.0", "id": 2, "method": "resources/unsubscribe", "params": {"uri": "memo://a"}})
        assert b.recv_response(2)["result"] == {}
    assert not modern.requests("resources/subscribe"), "2026-07-28 has no resources/subscribe"
    assert not any(m.get("method") == "notifications/subscriptions/acknowledged" for m in b.other)


def test_the_era_is_remembered_so_the_next_start_goes_straight_to_server_discover(modern, home):
    with RawBridge("run", modern.url, home=home) as b:
        b.initialize()
        b.close_stdin()
        assert b.wait(5) == 0
    found = [p for p in home.rglob("*.json") if "modern_protocol" in p.read_text()]
    assert found and json.loads(found[0].read_text())["modern_protocol"] == MODERN
    before = len(modern.seen)
    with RawBridge("run", modern.url, home=home) as b:
        assert b.initialize()["result"]["serverInfo"]["name"] == "fake-modern"
    second = [s.json()["method"] for s in modern.seen[before:]]
    assert second[0] == "server/discover" and "initialize" not in second


def test_protocol_2026_skips_initialize_and_protocol_2025_sends_it_as_written(modern, home):
    with RawBridge("run", modern.url, "--protocol", "2026", home=home) as b:
        assert b.initialize()["result"]["protocolVersion"] == "2025-06-18"
    assert not modern.requests("initialize")
    with RawBridge("run", modern.url, "--protocol", "2025", home=home) as b:
        reply = b.initialize()
    assert "error" in reply, "a 2025-era client cannot use a modern-only server without the translation"
    init = modern.requests("initialize")[-1]
    assert init.json() == INIT and "mcp-protocol-version" not in init.headers
    assert not modern.requests("server/discover")[1:], "no translation is tried"


def test_a_2025_era_server_sees_initialize_with_the_modern_meta_and_everything_else_as_written(home):
    """The one thing the era detection adds for a 2025-era server: its
    `initialize` carries the version header, `Mcp-Method` and the modern
    `_meta` mirrored from the client's own params. No extra request, and the
    messages after it pass byte for byte."""
    with FakeMcp() as fake, RawBridge("run", fake.url, home=home) as b:
        b.initialize()
        request = b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"x":1.50}}}'
        b.send_raw(request + b"\n")
        b.recv_response(1)
        b.close_stdin()
        assert b.wait(5) == 0
    init = fake.requests("POST", "initialize")[0]
    assert init.headers["mcp-protocol-version"] == "2025-06-18" and init.headers["mcp-method"] == "initialize"
    sent = init.json()
    meta = sent["params"].pop("_meta")
    assert sent == INIT
    assert meta == {
        "io.modelcontextprotocol/protocolVersion": "2025-06-18",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": INIT["params"]["clientInfo"],
    }
    posts = fake.requests("POST")
    assert [json.loads(p.body).get("method") for p in posts] == ["initialize", "notifications/initialized", "tools/call"]
    assert posts[2].body == request
    assert "mcp-method" not in posts[2].headers
    assert not [p for p in home.rglob("*.json") if "modern_protocol" in p.read_text()], "nothing is written for a 2025-era server"


# --- the official Python SDK 2.x server ---------------------------------------


@pytest.fixture(scope="module")
def sdk_server(tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("sdk") / "sdk-server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, str(HERE / "sdk_server.py"), str(port)], stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)
        if proc.poll() is None:
            proc.kill()


class Host:
    """What a host answers when the server asks (through the bridge)."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.notes: list[str] = []

    async def sampling(self, ctx: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
        self.asked.append("sampling")
        return types.CreateMessageResult(role="assistant", content=types.TextContent(type="text", text="42"), model="host-model", stop_reason="endTurn")

    async def elicitation(self, ctx: Any, params: Any) -> types.ElicitResult:
        self.asked.append("elicitation")
        return types.ElicitResult(action="accept", content={"name": "Ada"})

    async def roots(self, ctx: Any) -> types.ListRootsResult:
        self.asked.append("roots")
        return types.ListRootsResult(roots=[types.Root(uri="file:///home/ada/project", name="project")])

    async def message(self, message: Any) -> None:
        method = getattr(getattr(message, "root", message), "method", None)
        if method:
            self.notes.append(method)


@contextlib.asynccontextmanager
async def sdk_host(url: str, home: Path, *args: str, mode: str = "legacy", host: Host | None = None):
    host = host or Host()
    passed = {k: os.environ[k] for k in ("DBUS_SESSION_BUS_ADDRESS",) if k in os.environ}
    params = StdioServerParameters(command=tether_bin(), args=["run", url, *args], env={"TETHER_HOME": str(home), **passed})
    async with Client(
        params,
        mode=mode,
        read_timeout_seconds=30,
        sampling_callback=host.sampling,
        elicitation_callback=host.elicitation,
        list_roots_callback=host.roots,
        message_handler=host.message,
    ) as client:
        yield client, host


async def texts(client: Client, name: str, args: dict | None = None) -> str:
    result = await client.call_tool(name, args or {})
    assert not result.is_error, result
    return result.content[0].text


@pytest.mark.anyio
async def test_a_2025_era_client_gets_elicitation_sampling_and_roots_from_the_sdk_server_through_mrtr(sdk_server, home, tmp_path):
    # The SDK server is dual-era and would accept a 2025 session; pinned to
    # the stateless wire, Tether translates.
    async with sdk_host(sdk_server, home, "--protocol", "2026") as (client, host):
        assert client.protocol_version == "2025-11-25"
        assert client.server_info is not None and client.server_info.name == "sdk-era-peer"
        assert client.instructions == "A peer for Tether's era tests."
        assert await texts(client, "greet") == "Hello, Ada!"
        assert await texts(client, "consult_model") == "The model said: 42"
        assert await texts(client, "my_roots") == "roots: file:///home/ada/project"
        assert await texts(client, "greet_and_ask") == "Ada asked; the model said 42"
        assert await texts(client, "echo", {"text": "as written"}) == "as written"
        await client.send_ping()
        await client.set_logging_level("info")
    assert host.asked[:3] == ["elicitation", "sampling", "roots"]
    assert sorted(host.asked[3:]) == ["elicitation", "sampling"], "two questions in one round, both asked"


@pytest.mark.anyio
async def test_a_2025_era_client_hears_list_changes_and_resource_updates_through_subscriptions_listen(sdk_server, home):
    async with sdk_host(sdk_server, home, "--protocol", "2026") as (client, host):
        before = {t.name for t in (await client.list_tools()).tools}
        await anyio.sleep(0.5)  # the listen stream opens after notifications/initialized
        await client.subscribe_resource("memo://note")
        await anyio.sleep(0.5)
        added = await texts(client, "add_tool")
        await texts(client, "touch")
        with anyio.fail_after(10):
            while not {"notifications/tools/list_changed", "notifications/resources/updated"} <= set(host.notes):
                await anyio.sleep(0.05)
        after = {t.name for t in (await client.list_tools()).tools}
    assert after - before == {added.removeprefix("added ")}


@pytest.mark.anyio
async def test_a_2025_era_client_of_the_dual_era_sdk_server_keeps_a_2025_session(sdk_server, home):
    async with sdk_host(sdk_server, home) as (client, host):
        assert client.protocol_version == "2025-11-25"
        assert await texts(client, "greet") == "Hello, Ada!"
    assert host.asked == ["elicitation"]
    assert not [p for p in home.rglob("*.json") if "modern_protocol" in p.read_text()], "the server accepted the 2025 session"


@pytest.mark.anyio
async def test_a_client_of_the_stateless_wire_is_passed_through_with_the_headers_the_sdk_server_checks(sdk_server, home):
    async with sdk_host(sdk_server, home, mode=MODERN) as (client, host):
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"greet", "consult_model", "my_roots"} <= names
        # The client runs the input rounds itself; Tether only carries them.
        assert await texts(client, "greet") == "Hello, Ada!"
        assert await texts(client, "my_roots") == "roots: file:///home/ada/project"
        async with client.listen(tools_list_changed=True) as sub:
            await texts(client, "add_tool")
            with anyio.fail_after(10):
                async for event in sub:
                    assert type(event).__name__ == "ToolsListChanged"
                    break
    assert host.asked == ["elicitation", "roots"]


# --- tether doctor ------------------------------------------------------------


def doctor(url: str) -> dict:
    r = subprocess.run([tether_bin(), "doctor", url, "--json", "--timeout", "5"], capture_output=True, text=True, timeout=120)
    assert r.stdout, r.stderr
    return json.loads(r.stdout)


def finding(report: dict, fid: str) -> dict:
    return next(f for f in report["findings"] if f["id"] == fid)


def test_doctor_names_the_eras_a_server_speaks(modern, sdk_server):
    only_modern = doctor(modern.url)
    era = finding(only_modern, "transport.era")
    assert era["level"] == "warning" and "only the stateless 2026-07-28" in era["saw"]
    assert "claude-connectors" in era["breaks"] and "tether" not in era["breaks"], "Tether translates"
    assert finding(only_modern, "mcp.initialize")["level"] == "ok", "a modern refusal of initialize is not an error"
    assert finding(only_modern, "transport.versions")["level"] == "ok"
    with FakeMcp() as legacy:
        assert "the 2025 initialize handshake" in finding(doctor(legacy.url), "transport.era")["saw"]
    assert "both" in finding(doctor(sdk_server), "transport.era")["saw"]


@pytest.mark.anyio
async def test_a_dual_era_client_that_probes_a_2025_era_server_falls_back_to_the_handshake(everything_http, home):
    """The SDK client in `auto` mode asks `server/discover` first; through
    Tether, server-everything (2025 era) refuses it, and the client's own
    fallback to `initialize` opens an ordinary 2025 session."""
    async with sdk_host(everything_http, home, mode="auto") as (client, host):
        assert client.protocol_version == "2025-11-25"
        result = await client.call_tool("echo", {"message": "hi"})
        assert result.content[0].text == "Echo: hi"
