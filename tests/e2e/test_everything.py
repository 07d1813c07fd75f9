"""The official MCP Python SDK client, through the built `tether` binary, against
the official @modelcontextprotocol/server-everything, in both of its HTTP
transports (Streamable HTTP and the legacy HTTP+SSE): the way Claude Desktop
uses a remote server through Tether."""

from __future__ import annotations

import json

import httpx
import mcp.types as types
import pytest

from bridge import INIT, INITIALIZED, RawBridge
from conftest import sdk_client

pytestmark = pytest.mark.anyio


def texts(result) -> str:
    return "\n".join(c.text for c in result.content if getattr(c, "type", None) == "text")


async def test_tools_are_listed_and_called(everything, home):
    async with sdk_client(everything, home=home) as client:
        assert client.server_info.name == "mcp-servers/everything"
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"echo", "get-sum", "trigger-long-running-operation"} <= names
        assert texts(await client.call_tool("echo", {"message": "héllo, wörld"})) == "Echo: héllo, wörld"
        assert "42" in texts(await client.call_tool("get-sum", {"a": 40, "b": 2}))
        structured = await client.call_tool("get-structured-content", {"location": "New York"})
        assert structured.structured_content is not None and "temperature" in structured.structured_content


async def test_a_long_running_tool_reports_progress_through_the_bridge(everything, home):
    seen: list[tuple[float, float | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total))

    async with sdk_client(everything, home=home) as client:
        result = await client.call_tool("trigger-long-running-operation", {"duration": 1, "steps": 4}, progress_callback=on_progress)
    assert "Long running operation completed" in texts(result)
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]


async def test_resources_and_templates_are_listed_and_read(everything, home):
    async with sdk_client(everything, home=home) as client:
        resources = (await client.list_resources()).resources
        assert resources, "server-everything lists static resources"
        templates = (await client.list_resource_templates()).resource_templates
        assert any("demo://resource/dynamic/text/" in t.uri_template for t in templates)
        read = await client.read_resource("demo://resource/dynamic/text/1")
        assert read.contents and "1" in read.contents[0].text


async def test_prompts_are_listed_fetched_and_completed(everything, home):
    async with sdk_client(everything, home=home) as client:
        names = {p.name for p in (await client.list_prompts()).prompts}
        assert {"simple-prompt", "args-prompt"} <= names
        prompt = await client.get_prompt("args-prompt", {"city": "Lisbon", "state": "Lisboa"})
        assert "Lisbon" in prompt.messages[0].content.text
        done = await client.complete(types.PromptReference(type="ref/prompt", name="completable-prompt"), {"name": "department", "value": "E"})
        assert "Engineering" in done.completion.values


async def test_sampling_requests_from_the_server_reach_the_client_and_back(everything, home):
    asked: list[str] = []

    async def sampling(context, params: types.CreateMessageRequestParams):
        asked.append(params.messages[0].content.text)
        return types.CreateMessageResult(role="assistant", content=types.TextContent(type="text", text="four"), model="fake-llm")

    async with sdk_client(everything, home=home, sampling_callback=sampling) as client:
        result = await client.call_tool("trigger-sampling-request", {"prompt": "2+2?", "maxTokens": 5})
    assert asked and "2+2?" in asked[0]
    assert '"four"' in texts(result) and "fake-llm" in texts(result)


async def test_elicitation_requests_from_the_server_reach_the_client_and_back(everything, home):
    async def elicit(context, params):
        return types.ElicitResult(action="accept", content={"name": "Ada", "check": True})

    async with sdk_client(everything, home=home, elicitation_callback=elicit) as client:
        result = await client.call_tool("trigger-elicitation-request", {})
    assert "- Name: Ada" in texts(result)
    assert "- Agreed to terms: true" in texts(result)


async def test_roots_are_requested_by_the_server_on_its_own_and_answered(everything, home):
    async def roots(context):
        return types.ListRootsResult(roots=[types.Root(uri="file:///home/ada/project", name="project")])

    async with sdk_client(everything, home=home, list_roots_callback=roots) as client:
        result = await client.call_tool("get-roots-list", {})
    assert "file:///home/ada/project" in texts(result)


async def test_ping_and_logging_level_pass_through(everything, home):
    async with sdk_client(everything, home=home) as client:
        assert isinstance(await client.send_ping(), types.EmptyResult)
        assert isinstance(await client.set_logging_level("debug"), types.EmptyResult)


def test_ping_and_set_level_reach_the_server_and_their_answers_keep_the_ids(everything_http, home):
    """The server answers them (not the bridge): a string id and a number id
    come back exactly as sent, with the server's empty result."""
    with RawBridge("run", everything_http, home=home) as b:
        b.initialize()
        b.send({"jsonrpc": "2.0", "id": "ping-7", "method": "ping"})
        assert b.recv_response("ping-7") == {"jsonrpc": "2.0", "id": "ping-7", "result": {}}
        b.send({"jsonrpc": "2.0", "id": 8, "method": "logging/setLevel", "params": {"level": "debug"}})
        assert b.recv_response(8) == {"jsonrpc": "2.0", "id": 8, "result": {}}
        b.send({"jsonrpc": "2.0", "id": 9, "method": "logging/setLevel", "params": {"level": "no-such-level"}})
        answer = b.recv_response(9)
        assert answer["id"] == 9 and "error" in answer, "an invalid level is the server's error, passed through"
        b.assert_stdout_is_json_rpc_only()


def test_a_result_arrives_byte_for_byte_as_the_server_sent_it(everything_http, home):
    """What the server wrote is what the client reads: no field dropped,
    reordered or reformatted (compared with a direct Streamable HTTP request)."""
    direct = httpx.Client(timeout=10)
    headers = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
    r = direct.post(everything_http, json=INIT, headers=headers)
    sid = r.headers["mcp-session-id"]
    headers |= {"mcp-session-id": sid, "mcp-protocol-version": "2025-06-18"}
    direct.post(everything_http, json=INITIALIZED, headers=headers)
    request = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    r = direct.post(everything_http, json=request, headers=headers)
    direct_bytes = [line[len("data: ") :] for line in r.text.splitlines() if line.startswith("data: ")][-1].encode()
    direct.delete(everything_http, headers=headers)

    with RawBridge("run", everything_http, home=home) as b:
        b.initialize()
        b.send(request)
        via_tether = b.recv_response_line(1)
        b.assert_stdout_is_json_rpc_only()
    assert via_tether == direct_bytes
    assert json.loads(via_tether)["result"]["tools"]


def test_the_client_initialize_reaches_the_server_unchanged_and_the_session_ends_with_delete(everything_http, home, tmp_path):
    """Unknown capabilities and _meta survive; stdin EOF ends the session."""
    init = json.loads(json.dumps(INIT))
    init["params"]["capabilities"] = {"experimental": {"x": {}}, "futureCapability": {"deep": [1, 2.50, "z"]}}
    init["params"]["_meta"] = {"trace": "abc"}
    with RawBridge("run", everything_http, home=home) as b:
        b.send(init)
        reply = b.recv_response(0)
        assert reply["result"]["protocolVersion"] == "2025-06-18"
        b.send(INITIALIZED)
        b.send({"jsonrpc": "2.0", "id": "x-1", "method": "tools/call", "params": {"name": "echo", "arguments": {"message": "m"}, "_meta": {"progressToken": "t"}}})
        assert b.recv_response("x-1")["result"]["content"][0]["text"] == "Echo: m"
        b.close_stdin()
        assert b.wait(5) == 0
