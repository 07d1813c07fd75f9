"""Bad input from the client: each malformed line gets the exact JSON-RPC
error reply (JSON-RPC 2.0 §5.1), nothing is forwarded, and the bridge keeps
serving the next line."""

from __future__ import annotations

import json

import pytest

from bridge import RawBridge
from fakes import FakeMcp

PARSE = '{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error: the line is not valid JSON"}}'


def invalid(rid: str, why: str) -> str:
    return json.dumps({"jsonrpc": "2.0", "id": json.loads(rid), "error": {"code": -32600, "message": f"Invalid Request: {why}"}}, separators=(",", ":"))


CASES = [
    ("not json at all", b"hello there", PARSE),
    ("truncated json", b'{"jsonrpc":"2.0","id":1,"method":"tools/list"', PARSE),
    ("a trailing comma", b'{"jsonrpc":"2.0","id":1,"method":"x",}', PARSE),
    ("a bare number", b"42", invalid("null", "a JSON-RPC message must be an object")),
    ("a string", b'"tools/list"', invalid("null", "a JSON-RPC message must be an object")),
    ("a wrong version", b'{"jsonrpc":"1.0","id":7,"method":"tools/list"}', invalid("7", '"jsonrpc" must be exactly "2.0"')),
    ("no version", b'{"id":"a","method":"tools/list"}', invalid('"a"', '"jsonrpc" must be exactly "2.0"')),
    ("a method that is not a string", b'{"jsonrpc":"2.0","id":8,"method":["x"]}', invalid("8", '"method" must be a string')),
    ("an id that is an object", b'{"jsonrpc":"2.0","id":{"x":1},"method":"ping"}', invalid("null", "id must be a string or a number")),
    ("a null request id", b'{"jsonrpc":"2.0","id":null,"method":"ping"}', invalid("null", "a request id must not be null")),
    ("neither method nor result", b'{"jsonrpc":"2.0","id":9}', invalid("9", 'a message needs "method", "result" or "error"')),
    ("both result and error", b'{"jsonrpc":"2.0","id":9,"result":{},"error":{}}', invalid("9", 'a response cannot carry both "result" and "error"')),
    ("an empty batch", b"[]", invalid("null", "an empty batch")),
]


@pytest.fixture(scope="module")
def served():
    with FakeMcp() as fake:
        yield fake


@pytest.mark.parametrize("name,line,reply", CASES, ids=[c[0] for c in CASES])
def test_a_malformed_line_gets_the_exact_error_and_the_bridge_keeps_serving(served, home, name, line, reply):
    with RawBridge("run", served.url, home=home) as b:
        b.initialize()
        before = len(served.seen)
        b.send_raw(line + b"\n")
        assert b.recv_line().decode() == reply
        b.send({"jsonrpc": "2.0", "id": "after", "method": "tools/list"})
        assert b.recv_response("after")["result"]["tools"]
        forwarded = [s.body for s in served.seen[before:]]
        assert line not in forwarded
        b.assert_stdout_is_json_rpc_only()


def test_a_batch_with_invalid_elements_gets_one_error_per_invalid_element(served, home):
    with RawBridge("run", served.url, home=home) as b:
        b.initialize()
        b.send_raw(b'[{"jsonrpc":"2.0","id":1,"method":"ping"},7,{"jsonrpc":"2.0","id":2}]\n')
        assert json.loads(b.recv_line()) == [
            {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "Invalid Request: a batch element must be an object"}},
            {"jsonrpc": "2.0", "id": 2, "error": {"code": -32600, "message": 'Invalid Request: a message needs "method", "result" or "error"'}},
        ]


def test_blank_lines_and_crlf_endings_are_accepted(served, home):
    with RawBridge("run", served.url, home=home) as b:
        b.initialize()
        b.send_raw(b'\n   \n{"jsonrpc":"2.0","id":"crlf","method":"tools/list"}\r\n')
        assert b.recv_response("crlf")["result"]
        assert b.nothing_more(0.3)


def test_invalid_utf8_in_a_line_is_a_parse_error(served, home):
    with RawBridge("run", served.url, home=home) as b:
        b.initialize()
        b.send_raw(b'{"jsonrpc":"2.0","id":1,"method":"\xff\xfe"}\n')
        assert b.recv_line().decode() == PARSE
