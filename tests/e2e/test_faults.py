"""Fault injection: the bridge against fake servers (see fakes.py) that
misbehave on cue. Each test names the fault and asserts what the client sees
and what the server received."""

from __future__ import annotations

import json
import signal
import time

import mcp.types as types
import pytest

from bridge import INIT, INITIALIZED, RawBridge
from conftest import free_port, sdk_client
from fakes import FakeLegacySse, FakeMcp, Redirector

MiB = 1024 * 1024


def call(rid, name, arguments=None, **params):
    return {"jsonrpc": "2.0", "id": rid, "method": "tools/call", "params": {"name": name, "arguments": arguments or {}, **params}}


def text_of(reply) -> str:
    return reply["result"]["content"][0]["text"]


@pytest.fixture
def fake():
    with FakeMcp() as f:
        yield f


# --- sessions ---------------------------------------------------------------


def test_an_expired_session_is_renewed_transparently_by_replaying_the_handshake(fake, home):
    with RawBridge("run", fake.url, home=home) as b:
        b.initialize()
        b.send(call(1, "echo", {"n": 1}))
        assert text_of(b.recv_response(1)) == '{"n":1}'
        fake.expire_sessions()
        b.send(call(2, "echo", {"n": 2}))
        assert text_of(b.recv_response(2)) == '{"n":2}'
        b.send(call(3, "echo", {"n": 3}))
        assert text_of(b.recv_response(3)) == '{"n":3}'
        assert b.nothing_more(), "the replayed initialize must not be answered to the client"
        b.assert_stdout_is_json_rpc_only()
    inits = fake.requests("POST", "initialize")
    assert len(inits) == 2
    assert inits[1].body == inits[0].body, "the client's own initialize is replayed byte for byte"
    assert len(fake.requests("POST", "notifications/initialized")) == 2
    replayed_at = inits[1].at
    second = [s for s in fake.requests("POST", "tools/call") if s.json()["id"] == 2]
    assert len(second) == 2, "the message that met the 404 is retried once"
    assert second[1].at > replayed_at
    assert "mcp-session-id" not in inits[1].headers


def test_the_negotiated_protocol_version_and_session_id_are_sent_after_initialize(fake, home):
    # Pinned to the 2025 era: by default `initialize` also carries the header
    # (and the 2026-07-28 `_meta`) so a modern server can refuse it
    # (test_era.py covers that form).
    with RawBridge("run", fake.url, "--protocol", "2025", home=home) as b:
        b.initialize()
        b.send(call(1, "echo"))
        b.recv_response(1)
        b.close_stdin()
        assert b.wait(5) == 0
    init = fake.requests("POST", "initialize")[0]
    assert "mcp-protocol-version" not in init.headers
    assert init.headers["accept"] == "application/json, text/event-stream"
    later = fake.requests("POST", "tools/call")[0]
    assert later.headers["mcp-protocol-version"] == "2025-06-18"
    assert later.headers["mcp-session-id"] in {s.headers.get("mcp-session-id") for s in fake.requests("DELETE")}


def test_a_server_asking_to_reconnect_at_once_does_not_make_a_tight_loop(fake, home):
    """`retry: 0` on a GET stream that keeps closing: reconnections come
    no faster than the floor (250 ms), not as fast as the loop can go."""
    fake.get_status = 200
    fake.get_stream_closes = True
    fake.retry_ms = 0
    with RawBridge("run", fake.url, home=home) as b:
        b.initialize()
        b.send(INITIALIZED)
        time.sleep(2.0)
        seen = fake.get_count
    assert 1 <= seen <= 10, f"{seen} GET streams in 2 s"


def test_json_responses_work_as_well_as_sse(fake, home):
    fake.json_responses = True
    with RawBridge("run", fake.url, home=home) as b:
        b.initialize()
        b.send(call(1, "echo", {"a": [1, 2]}))
        assert text_of(b.recv_response(1)) == '{"a":[1,2]}'


def test_only_one_remote_session_is_opened_per_stdio_session(fake, home):
    with RawBridge("run", fake.url, home=home) as b:
        b.initialize()
        for i in range(5):
            b.send(call(i + 1, "echo"))
        for i in range(5):
            b.recv_response(i + 1)
        b.close_stdin()
        assert b.wait(5) == 0
    assert fake.initialize_count == 1
    assert len(fake.requests("DELETE")) == 1


# --- streams ----------------------------------------------------------------


def test_a_response_stream_cut_before_the_answer_is_resumed_with_last_event_id_after_retry(fake, home):
    fake.retry_ms = 300
    with RawBridge("run", fake.url, home=home) as b:
        b.initialize()
        b.send(call(7, "progress", {"cut": True}, _meta={"progressToken": "tok"}))
        reply = b.recv_response(7)
        assert text_of(reply) == "done"
        progress = [m for m in b.other if m.get("method") == "notifications/progress"]
        assert progress and progress[0]["params"]["progressToken"] == "tok"
    resumes = [s for s in fake.requests("GET") if "last-event-id" in s.headers]
    assert len(resumes) == 1
    assert resumes[0].headers["last-event-id"].endswith("-1"), "resumes after the last event seen"
    cut_at = fake.requests("POST", "tools/call")[0].at
    assert resumes[0].at - cut_at >= 0.3, "the server's retry delay is honoured"


def test_progress_is_relayed_before_the_answer_on_an_uncut_stream(fake, home):
    with RawBridge("run", fake.url, home=home) as b:
        b.initialize()
        b.send(call(8, "progress", {}, _meta={"progressToken": 99}))
        first = b.recv()
        assert first["method"] == "notifications/progress" and first["params"]["progressToken"] == 99
        assert text_of(b.recv_response(8)) == "done"


def test_a_405_on_get_is_tolerated_and_not_retried(fake, home):
    fake.get_status = 405
    with RawBridge("run", fake.url, home=home) as b:
        b.initialize()
        b.send(call(1, "echo"))
        b.recv_response(1)
        time.sleep(1.5)
        b.send(call(2, "echo"))
        b.recv_response(2)
    assert len(fake.requests("GET")) == 1


@pytest.mark.anyio
async def test_a_server_request_on_a_response_stream_is_answered_by_the_sdk_client(fake, home):
    async def sampling(context, params):
        return types.CreateMessageResult(role="assistant", content=types.TextContent(type="text", text="4"), model="m")

    async with sdk_client(fake.url, home=home, sampling_callback=sampling) as client:
        result = await client.call_tool("ask", {})
    assert '"text":"4"' in result.content[0].text


def test_server_initiated_messages_on_the_get_stream_reach_the_client_and_its_answer_goes_back(fake, home):
    fake.get_status = 200
    with RawBridge("run", fake.url, home=home) as b:
        b.initialize()
        b.send(call(1, "echo"))
        b.recv_response(1)  # by now the GET stream is open: messages wait for it
        fake.push({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})
        fake.push({"jsonrpc": "2.0", "id": "srv-ping-1", "method": "ping"})
        assert b.recv() == {"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}
        assert b.recv() == {"jsonrpc": "2.0", "id": "srv-ping-1", "method": "ping"}
        b.send({"jsonrpc": "2.0", "id": "srv-ping-1", "result": {}})
        deadline = time.monotonic() + 5
        while not [s for s in fake.requests("POST") if s.json().get("id") == "srv-ping-1"] and time.monotonic() < deadline:
            time.sleep(0.05)
    answers = [s for s in fake.requests("POST") if s.json().get("id") == "srv-ping-1"]
    assert len(answers) == 1 and answers[0].json() == {"jsonrpc": "2.0", "id": "srv-ping-1", "result": {}}
    assert len(fake.requests("GET")) == 1


def test_a_stream_that_ends_without_an_answer_or_an_event_id_fails_the_request_clearly(fake, home):
    with RawBridge("run", fake.url, home=home) as b:
        b.initialize()
        b.send(call(9, "hangup"))
        err = b.recv_response(9)["error"]
        assert err["message"] == f"the MCP server at {fake.url} closed the response stream before answering, without an event id to resume from"
        b.send(call(10, "echo"))
        assert b.recv_response(10)["result"]


# --- failures of the server -----------------------------------------------------


def test_a_5xx_gives_a_readable_error_and_the_bridge_keeps_serving(fake, home):
    with RawBridge("run", fake.url, home=home) as b:
        b.initialize()
        b.send(call(1, "fail"))
        err = b.recv_response(1)["error"]
        assert err["code"] == -32000
        assert err["message"] == f"the MCP server at {fake.url} answered HTTP 503 Service Unavailable: upstream exploded"
        assert err["data"] == {"reason": "http-status"}
        b.send(call(2, "echo", {"still": "alive"}))
        assert text_of(b.recv_response(2)) == '{"still":"alive"}'


def test_a_servers_error_text_reaches_the_client_and_the_log_without_control_characters(fake, home):
    # A terminal escape (set the window title, clear the screen) and a forged log line.
    fake.fail_text = "upstream\x1b]0;owned\x07\x1b[2J down\r\nERROR forged line"
    with RawBridge("run", fake.url, home=home) as b:
        b.initialize()
        b.send(call(1, "fail"))
        err = b.recv_response(1)["error"]
        b.stop()
    assert err["message"] == f"the MCP server at {fake.url} answered HTTP 503 Service Unavailable: upstream ]0;owned  [2J down"
    log = b.stderr.decode()
    assert "answered HTTP 503" in log
    for text in (err["message"], log.replace("\n", "")):
        assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in text), repr(text)
    assert "\nERROR forged line" not in log


def test_a_json_rpc_error_in_an_error_status_body_is_forwarded_as_the_server_wrote_it(fake, home):
    with RawBridge("run", fake.url, home=home) as b:
        b.initialize()
        fake.post_status = 429
        b.send(call(1, "echo"))
        assert b.recv_response(1) == {"jsonrpc": "2.0", "id": 1, "error": {"code": -32603, "message": "overloaded"}}


def test_an_html_page_where_json_rpc_belongs_fails_at_once_and_says_what_came(fake, home):
    fake.login_page = True
    with RawBridge("run", fake.url, home=home) as b:
        started = time.monotonic()
        b.send(INIT)
        err = b.recv_response(0)["error"]
        assert time.monotonic() - started < 3
    assert err["message"] == f'the MCP server at {fake.url} answered HTTP 200 with an HTML page instead of JSON-RPC (a sign-in page or a proxy?): "Sign in - Corp SSO …"'


def test_a_slow_server_gets_a_timeout_error_within_the_bound(fake, home):
    with RawBridge("run", fake.url, "--request-timeout", "1", home=home) as b:
        b.initialize()
        started = time.monotonic()
        b.send(call(1, "slow", {"seconds": 30}))
        err = b.recv_response(1, timeout=10)["error"]
        assert time.monotonic() - started < 5
        assert err["message"] == f"the MCP server at {fake.url} did not answer within 1 s (--request-timeout)"
        b.send(call(2, "echo"))
        assert b.recv_response(2)["result"]


def test_a_server_that_is_down_gets_a_connection_error_for_every_request(home):
    url = f"http://127.0.0.1:{free_port()}/mcp"
    with RawBridge("run", url, home=home) as b:
        b.send(INIT)
        err = b.recv_response(0)["error"]
        assert err["message"] == f"Tether could not connect to the MCP server at {url}: connection refused (is the server running?). `tether doctor {url}` says why"
        assert err["data"] == {"reason": "unreachable"}
        b.send({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        assert b.recv_response(1)["error"]["data"] == {"reason": "unreachable"}


def test_a_401_from_a_server_without_oauth_says_how_to_pass_a_token(fake, home, tmp_path):
    fake.require_token = "right-token"
    opened = tmp_path / "opened"
    browser = tmp_path / "browser.sh"
    browser.write_text(f"#!/bin/sh\necho \"$@\" >> {opened}\n")
    browser.chmod(0o755)
    with RawBridge("run", fake.url, home=home, env={"BROWSER": str(browser)}) as b:
        b.send(INIT)
        err = b.recv_response(0)["error"]
    assert "publishes no OAuth metadata" in err["message"]
    assert "--header 'Authorization: Bearer ${TOKEN}'" in err["message"]
    assert err["data"] == {"reason": "auth"}
    assert not opened.exists(), "no browser is opened for a server that does not do OAuth"


def test_a_refused_authorization_header_is_named_and_no_oauth_is_attempted(fake, home):
    fake.require_token = "right-token"
    with RawBridge("run", fake.url, "--header", "Authorization: Bearer ${TOK}", home=home, env={"TOK": "wrong-token"}) as b:
        b.send(INIT)
        err = b.recv_response(0)["error"]
    assert err["message"] == f"the MCP server at {fake.url} refused the Authorization header given with --header (HTTP 401); check that the token is current"
    assert err["data"] == {"reason": "token-refused"}
    assert [s.path for s in fake.seen] == ["/mcp"], "no discovery requests: the user chose a static token"


def test_a_bearer_header_from_the_environment_is_sent_and_never_logged(fake, home):
    secret = "tok-5f3a9c1e-never-log-me"
    fake.require_token = secret
    with RawBridge("run", fake.url, "--debug", "--header", "Authorization: Bearer ${API_TOKEN}", home=home, env={"API_TOKEN": secret}) as b:
        b.initialize()
        b.send(call(1, "echo"))
        assert b.recv_response(1)["result"]
        b.close_stdin()
        b.wait(5)
        stderr = b.stderr
    assert all(s.headers.get("authorization") == f"Bearer {secret}" for s in fake.seen)
    assert secret.encode() not in stderr
    assert b"authorization" in stderr.lower(), "header names are logged"
    for f in home.rglob("*"):
        if f.is_file():
            assert secret.encode() not in f.read_bytes(), f


# --- sizes ----------------------------------------------------------------------


@pytest.mark.parametrize("size", [5 * MiB, 20 * MiB])
def test_large_messages_pass_both_ways_without_jamming(fake, home, size):
    with RawBridge("run", fake.url, home=home) as b:
        b.initialize()
        b.send(call(1, "echo", {"blob": "y" * size}))
        b.send(call(2, "big", {"size": size}))
        b.send(call(3, "echo", {"small": True}))
        replies = {}
        for _ in range(3):
            msg = b.recv(timeout=60)
            replies[msg["id"]] = msg
        assert len(text_of(replies[1])) == size + len('{"blob":""}')
        assert len(text_of(replies[2])) == size
        assert text_of(replies[3]) == '{"small":true}'


def test_a_message_over_the_limit_from_the_client_gets_an_error_with_its_id(fake, home):
    with RawBridge("run", fake.url, "--max-message-size", "1MiB", home=home) as b:
        b.initialize()
        b.send(call(41, "echo", {"blob": "z" * (2 * MiB)}))
        err = b.recv_response(41)
        assert err["error"]["code"] == -32600
        assert err["error"]["message"].startswith("Invalid Request: the message of 2097") and "exceeds the limit of 1048576 bytes (--max-message-size)" in err["error"]["message"]
        b.send(call(42, "echo"))
        assert b.recv_response(42)["result"]
    assert not [s for s in fake.requests("POST", "tools/call") if s.json()["id"] == 41]


def test_a_message_over_the_limit_from_the_server_gets_an_error_not_a_hang(fake, home):
    with RawBridge("run", fake.url, "--max-message-size", "1MiB", home=home) as b:
        b.initialize()
        b.send(call(5, "big", {"size": 3 * MiB}))
        err = b.recv_response(5, timeout=20)["error"]
        assert err["message"] == "a message of more than 1048576 bytes exceeds the limit (--max-message-size)"
        b.send(call(6, "echo"))
        assert b.recv_response(6)["result"]


# --- cancellation and shutdown ----------------------------------------------------


def test_a_cancelled_request_is_forwarded_and_gets_no_late_reply(fake, home):
    with RawBridge("run", fake.url, home=home) as b:
        b.initialize()
        b.send(call(11, "slow", {"seconds": 1}))
        time.sleep(0.2)
        b.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 11, "reason": "user"}})
        assert b.nothing_more(2.0), "a response after the cancellation is not forwarded"
    assert fake.cancelled == [11]


@pytest.mark.parametrize("how", ["eof", "sigterm", "sigint"])
def test_shutdown_deletes_the_session_and_exits_zero_quickly(fake, home, how):
    with RawBridge("run", fake.url, home=home) as b:
        b.initialize()
        b.send(call(1, "echo"))
        b.recv_response(1)
        started = time.monotonic()
        if how == "eof":
            b.close_stdin()
        else:
            b.signal(signal.SIGTERM if how == "sigterm" else signal.SIGINT)
        assert b.wait(5) == 0
        assert time.monotonic() - started < 2
    assert len(fake.requests("DELETE")) == 1


def test_requests_in_flight_at_end_of_input_are_still_answered(fake, home):
    with RawBridge("run", fake.url, home=home) as b:
        b.initialize()
        b.send(call(1, "slow", {"seconds": 0.5}))
        b.close_stdin()
        assert text_of(b.recv_response(1)) == "finally"
        assert b.wait(5) == 0


# --- legacy HTTP+SSE ----------------------------------------------------------


def test_http_first_falls_back_to_http_sse_with_one_stream_and_no_probe_session(home):
    with FakeLegacySse() as legacy, RawBridge("run", legacy.url, home=home) as b:
        b.initialize()
        b.send(call(1, "echo", {"legacy": 1}))
        assert text_of(b.recv_response(1)) == '{"legacy":1}'
        assert legacy.streams == 1
        posts = [s for s in legacy.seen if s.path == "/messages"]
        assert [json.loads(s.body).get("method") for s in posts] == ["initialize", "notifications/initialized", "tools/call"]


def test_transport_flags_choose_the_transport(fake, home):
    with FakeLegacySse() as legacy:
        with RawBridge("run", legacy.url, "--transport", "http-only", home=home) as b:
            b.send(INIT)
            assert "HTTP 404" in b.recv_response(0)["error"]["message"]
        with RawBridge("run", legacy.url, "--transport", "sse-only", home=home) as b:
            assert b.initialize()["result"]["serverInfo"]["name"] == "fake-legacy"
        with RawBridge("run", fake.url, "--transport", "sse-first", home=home) as b:
            assert b.initialize()["result"]["serverInfo"]["name"] == "fake-mcp"
        with RawBridge("run", fake.url, "--transport", "sse-only", home=home) as b:
            b.send(INIT)
            assert b.recv_response(0)["error"]["code"] == -32000


def test_a_legacy_endpoint_on_another_origin_is_refused_and_gets_no_headers(home):
    with FakeMcp() as elsewhere, FakeLegacySse(endpoint_origin=elsewhere.url.rsplit("/", 1)[0]) as legacy:
        with RawBridge("run", legacy.url, "--transport", "sse-only", "--header", "X-Api-Key: k-123", home=home) as b:
            b.send(INIT)
            err = b.recv_response(0)["error"]
        assert "named an endpoint on another origin" in err["message"]
        assert elsewhere.seen == []


def test_a_redirect_to_another_origin_is_not_followed(home):
    with FakeMcp() as target, Redirector(target.url) as redirector:
        with RawBridge("run", redirector.url, "--header", "X-Api-Key: k-123", home=home) as b:
            b.send(INIT)
            err = b.recv_response(0)["error"]
        assert err["data"] == {"reason": "cross-origin-redirect"}
        assert f"redirected to {target.url}" in err["message"]
        assert target.seen == []


def test_a_redirect_within_the_origin_is_followed(fake, home):
    old = fake.url.replace("/mcp", "/old-mcp")
    with RawBridge("run", old, home=home) as b:
        assert b.initialize()["result"]["serverInfo"]["name"] == "fake-mcp"
    assert [s.path for s in fake.seen[:2]] == ["/old-mcp", "/mcp"]
