"""Fake MCP servers for fault injection. They are fakes, not peers.

Real behaviour is tested against @modelcontextprotocol/server-everything.
These small servers exist to misbehave on cue: expire a session, cut a
stream in the middle of a response, refuse GET with 405, answer 503, stall,
send huge messages, demand a token, point a legacy endpoint at another origin.
Each records what it received so a test can assert what the bridge sent.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


@dataclass
class Seen:
    """One request as the fake received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        return json.loads(self.body)


def sse(data: str | None = None, *, id: str | None = None, event: str | None = None, retry: int | None = None) -> bytes:
    out = []
    if event is not None:
        out.append(f"event: {event}")
    if id is not None:
        out.append(f"id: {id}")
    if retry is not None:
        out.append(f"retry: {retry}")
    if data is not None:
        out.extend(f"data: {line}" for line in data.split("\n"))
    return ("\n".join(out) + "\n\n").encode()


class _Background:
    """Runs a Starlette app under uvicorn on 127.0.0.1, on a free port, in a thread."""

    def __init__(self, app: Starlette) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self._sock = sock
        config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)


class FakeMcp:
    """A fake Streamable HTTP MCP server at /mcp.

    Tools: `echo` (returns its arguments as text), `big` (returns `size` bytes
    of text), `slow` (sleeps `seconds`), `progress` (sends progress, then
    answers; with `cut` it closes the stream after the progress event and
    answers only on a resumed GET), `ask` (sends a sampling request to the
    client and returns its answer), `fail` (answers HTTP 503), `hangup`
    (an SSE stream that ends with no event id and no answer).

    Knobs (set attributes): `json_responses` answers POSTs with JSON instead of
    SSE; `get_status` (405, or 200 for a GET stream); `get_stream_closes`
    (the GET stream ends after one event with `retry_ms`; `get_count` counts
    them); `require_token`;
    `login_page` answers everything 200 with an HTML sign-in page (an SSO proxy);
    `post_status` forces a status for POSTs of a tools/call; `fail_text` is
    the plain-text body of `fail`'s 503 (instead of an OAuth-style JSON error).
    """

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.sessions: set[str] = set()
        self.json_responses = False
        self.get_status = 405
        self.require_token: str | None = None
        self.post_status: int | None = None
        self.retry_ms = 200
        # The GET stream closes after its first event (with `retry_ms`).
        self.get_stream_closes = False
        self.get_count = 0
        self.login_page = False
        self.fail_text: str | None = None
        self.initialize_count = 0
        # Events of cut streams, by event id, replayed on GET with Last-Event-ID.
        self._held: dict[str, bytes] = {}
        self._to_client: asyncio.Queue[bytes] | None = None
        self._answers: dict[Any, asyncio.Future] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self.cancelled: list[Any] = []
        app = Starlette(
            routes=[
                Route("/mcp", self.endpoint, methods=["GET", "POST", "DELETE"]),
                Route("/old-mcp", self.moved, methods=["GET", "POST", "DELETE"]),
                *self.extra_routes(),
            ]
        )
        self._bg = _Background(app)

    def extra_routes(self) -> list[Route]:
        """More routes, for fakes built on this one."""
        return []

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self._bg.port}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._bg.port}/mcp"

    async def moved(self, request: Request) -> Response:
        """A same-origin 308 to /mcp."""
        self.seen.append(Seen(request.method, request.url.path, dict(request.headers), await request.body()))
        return Response(status_code=308, headers={"location": "/mcp"})

    def __enter__(self) -> "FakeMcp":
        self._bg.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bg.stop()

    # --- test controls ---------------------------------------------------

    def expire_sessions(self) -> None:
        """Forget every session: the next request with an old id gets 404."""
        self.sessions.clear()

    def requests(self, method: str | None = None, rpc: str | None = None) -> list[Seen]:
        out = [s for s in self.seen if method is None or s.method == method]
        if rpc is not None:
            out = [s for s in out if s.body and _rpc_method(s.body) == rpc]
        return out

    # --- the endpoint ------------------------------------------------------

    async def endpoint(self, request: Request) -> Response:
        self._loop = asyncio.get_running_loop()
        body = await request.body()
        self.seen.append(Seen(request.method, request.url.path, dict(request.headers), body))
        if self.require_token is not None and request.headers.get("authorization") != f"Bearer {self.require_token}":
            return JSONResponse(
                {"error": "invalid_token"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        if self.login_page:
            return Response("<html><head><title>Sign in - Corp SSO</title></head><body><form>…</form></body></html>", media_type="text/html")
        session = request.headers.get("mcp-session-id")
        if request.method == "DELETE":
            self.sessions.discard(session or "")
            return Response(status_code=200)
        if request.method == "GET":
            if session not in self.sessions:
                return Response(status_code=404 if session else 400)
            last = request.headers.get("last-event-id")
            if last is not None and last in self._held:
                return StreamingResponse(self._replay(last), media_type="text/event-stream")
            if self.get_status != 200:
                return Response(status_code=self.get_status)
            self.get_count += 1
            return StreamingResponse(self._get_stream(), media_type="text/event-stream")
        try:
            msg = json.loads(body)
        except ValueError:
            return JSONResponse({"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}}, status_code=400)
        if msg.get("method") == "initialize":
            self.initialize_count += 1
            sid = uuid.uuid4().hex
            self.sessions.add(sid)
            result = {
                "protocolVersion": msg["params"]["protocolVersion"],
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "fake-mcp", "version": "1"},
            }
            return self._answer(msg["id"], {"jsonrpc": "2.0", "id": msg["id"], "result": result}, {"mcp-session-id": sid})
        if session not in self.sessions:
            return JSONResponse({"jsonrpc": "2.0", "id": None, "error": {"code": -32001, "message": "Session not found"}}, status_code=404)
        if "method" not in msg:  # the client's response to one of our requests
            fut = self._answers.pop(msg.get("id"), None)
            if fut is not None and not fut.done():
                fut.set_result(msg)
            return Response(status_code=202)
        if "id" not in msg:
            if msg["method"] == "notifications/cancelled":
                self.cancelled.append(msg["params"]["requestId"])
            return Response(status_code=202)
        return await self._request(msg)

    async def _request(self, msg: dict) -> Response:
        rid, method, params = msg["id"], msg["method"], msg.get("params") or {}
        if method == "ping":
            return self._answer(rid, {"jsonrpc": "2.0", "id": rid, "result": {}})
        if method == "tools/list":
            tools = [{"name": n, "inputSchema": {"type": "object"}} for n in ("echo", "big", "slow", "progress", "ask", "fail")]
            return self._answer(rid, {"jsonrpc": "2.0", "id": rid, "result": {"tools": tools}})
        if method != "tools/call":
            return self._answer(rid, {"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": "Method not found"}})
        if self.post_status is not None:
            return JSONResponse({"jsonrpc": "2.0", "id": rid, "error": {"code": -32603, "message": "overloaded"}}, status_code=self.post_status)
        name, args = params.get("name"), params.get("arguments") or {}
        if name == "echo":
            return self._answer(rid, _text(rid, json.dumps(args, separators=(",", ":"))))
        if name == "big":
            return self._answer(rid, _text(rid, "x" * int(args["size"])))
        if name == "slow":
            await asyncio.sleep(float(args["seconds"]))
            return self._answer(rid, _text(rid, "finally"))
        if name == "fail":
            if self.fail_text is not None:
                return Response(self.fail_text, status_code=503, media_type="text/plain")
            return JSONResponse({"error": "upstream exploded"}, status_code=503)
        if name == "hangup":

            async def nothing():
                yield b": no events, no id, no answer\n\n"

            return StreamingResponse(nothing(), media_type="text/event-stream")
        if name == "progress":
            return StreamingResponse(self._progress(rid, params, bool(args.get("cut"))), media_type="text/event-stream")
        if name == "ask":
            return StreamingResponse(self._ask(rid), media_type="text/event-stream")
        return self._answer(rid, {"jsonrpc": "2.0", "id": rid, "error": {"code": -32602, "message": "unknown tool"}})

    def _answer(self, rid: Any, payload: dict, headers: dict[str, str] | None = None) -> Response:
        data = json.dumps(payload, separators=(",", ":"))
        if self.json_responses:
            return Response(data, media_type="application/json", headers=headers)

        async def stream():
            yield sse(data, id=uuid.uuid4().hex)

        return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)

    async def _progress(self, rid: Any, params: dict, cut: bool):
        token = (params.get("_meta") or {}).get("progressToken", "p")
        stream = uuid.uuid4().hex
        yield sse("", id=f"{stream}-0", retry=self.retry_ms)  # priming event (SEP-1699)
        note = {"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progressToken": token, "progress": 1, "total": 2}}
        yield sse(json.dumps(note), id=f"{stream}-1")
        answer = _text(rid, "done")
        if cut:
            # Close now; the answer waits for a GET with Last-Event-ID.
            self._held[f"{stream}-1"] = sse(json.dumps(answer), id=f"{stream}-2")
            return
        yield sse(json.dumps(answer), id=f"{stream}-2")

    async def _replay(self, last: str):
        yield self._held.pop(last)

    async def _get_stream(self):
        self._to_client = asyncio.Queue()
        if self.get_stream_closes:
            yield sse("", id="g-0", retry=self.retry_ms)
            return
        yield sse("", id="g-0")
        while True:
            item = await self._to_client.get()
            yield item

    async def _ask(self, rid: Any):
        """Sends sampling/createMessage to the client on the response stream and returns the answer."""
        qid = f"srv-{uuid.uuid4().hex[:8]}"
        fut = asyncio.get_running_loop().create_future()
        self._answers[qid] = fut
        req = {
            "jsonrpc": "2.0",
            "id": qid,
            "method": "sampling/createMessage",
            "params": {"messages": [{"role": "user", "content": {"type": "text", "text": "2+2?"}}], "maxTokens": 5},
        }
        yield sse(json.dumps(req), id=uuid.uuid4().hex)
        answer = await asyncio.wait_for(fut, 10)
        yield sse(json.dumps(_text(rid, json.dumps(answer["result"], separators=(",", ":")))), id=uuid.uuid4().hex)

    def push(self, message: dict) -> None:
        """Sends a server-initiated message on the open GET stream."""
        assert self._loop is not None and self._to_client is not None, "no GET stream is open"
        data = sse(json.dumps(message), id=uuid.uuid4().hex)
        self._loop.call_soon_threadsafe(self._to_client.put_nowait, data)


class FakeOAuth(FakeMcp):
    """A fake MCP server that is also its own, quirky, authorization server
    (all on one origin), to check that Tether tolerates the harmless quirks of
    seed 001 and refuses what is unsafe. Knobs (set attributes):

    - `resource`: the PRM `resource` (default: this server's /mcp URL)
    - `issuer_in_metadata`: the `issuer` the AS metadata claims
    - `pkce_methods`: `code_challenge_methods_supported`
    - `authorization_endpoint`: where the browser is sent
    - `iss_supported` / `iss_in_callback` / `omit_iss`: RFC 9207
      advertisement, value, and leaving it out
    - `state_in_callback`: a `state` other than the one received
    - `quirky`: registration answers 201 with a numeric client_id and a float
      `client_secret_expires_at`; the token endpoint answers 201 with
      `expires_in` as a string, `token_type` in capitals and `scope` as a list
    """

    def __init__(self) -> None:
        super().__init__()
        self.resource: str | None = None
        self.issuer_in_metadata: str | None = None
        self.pkce_methods: list[str] | None = ["S256"]
        self.authorization_endpoint: str | None = None
        self.iss_supported = True
        self.iss_in_callback: str | None = None
        self.state_in_callback: str | None = None
        self.omit_iss = False
        self.quirky = False
        self.issued: set[str] = set()
        self.codes: dict[str, str] = {}

    def extra_routes(self) -> list[Route]:
        return [
            Route("/.well-known/oauth-protected-resource/mcp", self.prm),
            Route("/.well-known/oauth-authorization-server", self.as_metadata),
            Route("/register", self.register, methods=["POST"]),
            Route("/authorize", self.authorize),
            Route("/token", self.token, methods=["POST"]),
        ]

    async def endpoint(self, request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        if auth.removeprefix("Bearer ") not in self.issued:
            self.seen.append(Seen(request.method, request.url.path, dict(request.headers), await request.body()))
            return Response(
                status_code=401,
                headers={"WWW-Authenticate": f'Bearer resource_metadata="{self.origin}/.well-known/oauth-protected-resource/mcp"'},
            )
        return await super().endpoint(request)

    async def _record(self, request: Request) -> bytes:
        body = await request.body()
        self.seen.append(Seen(request.method, request.url.path, dict(request.headers), body))
        return body

    async def prm(self, request: Request) -> Response:
        await self._record(request)
        return JSONResponse({"resource": self.resource or self.url, "authorization_servers": [self.origin]})

    async def as_metadata(self, request: Request) -> Response:
        await self._record(request)
        meta = {
            "issuer": self.issuer_in_metadata or self.origin,
            "authorization_endpoint": self.authorization_endpoint or f"{self.origin}/authorize",
            "token_endpoint": f"{self.origin}/token",
            "registration_endpoint": f"{self.origin}/register",
            "authorization_response_iss_parameter_supported": self.iss_supported,
        }
        if self.pkce_methods is not None:
            meta["code_challenge_methods_supported"] = self.pkce_methods
        return JSONResponse(meta)

    async def register(self, request: Request) -> Response:
        await self._record(request)
        if self.quirky:
            return JSONResponse({"client_id": 12345, "client_secret_expires_at": 1.9e9, "redirect_uris": []}, status_code=201)
        return JSONResponse({"client_id": "fake-client", "token_endpoint_auth_method": "none"}, status_code=201)

    async def authorize(self, request: Request) -> Response:
        await self._record(request)
        q = request.query_params
        code = uuid.uuid4().hex
        self.codes[code] = q["code_challenge"]
        params = {"code": code, "state": self.state_in_callback or q["state"]}
        if (self.iss_supported or self.iss_in_callback) and not self.omit_iss:
            params["iss"] = self.iss_in_callback or self.origin
        from urllib.parse import urlencode

        return Response(status_code=302, headers={"location": f"{q['redirect_uri']}?{urlencode(params)}"})

    async def token(self, request: Request) -> Response:
        await self._record(request)
        token = uuid.uuid4().hex
        self.issued.add(token)
        if self.quirky:
            body = {"access_token": token, "token_type": "BEARER", "expires_in": "3600.0", "scope": ["mcp"], "refresh_token": uuid.uuid4().hex}
            return JSONResponse(body, status_code=201, media_type="text/plain")
        return JSONResponse({"access_token": token, "token_type": "Bearer", "expires_in": 3600})


class FakeLegacySse:
    """A fake HTTP+SSE (2024-11-05) server: GET /sse, then POST to the endpoint.

    `endpoint_origin` makes it name an endpoint on another origin, to check the
    bridge refuses to send headers there.
    """

    def __init__(self, endpoint_origin: str | None = None) -> None:
        self.seen: list[Seen] = []
        self.streams = 0
        self.endpoint_origin = endpoint_origin
        self._queues: dict[str, asyncio.Queue[bytes]] = {}
        app = Starlette(
            routes=[
                Route("/sse", self.stream, methods=["GET", "POST"]),
                Route("/messages", self.messages, methods=["POST"]),
            ]
        )
        self._bg = _Background(app)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._bg.port}/sse"

    def __enter__(self) -> "FakeLegacySse":
        self._bg.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bg.stop()

    async def stream(self, request: Request) -> Response:
        self.seen.append(Seen(request.method, request.url.path, dict(request.headers), await request.body()))
        if request.method == "POST":
            return Response("Cannot POST /sse", status_code=404)
        self.streams += 1
        sid = uuid.uuid4().hex
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._queues[sid] = queue
        endpoint = f"{self.endpoint_origin or ''}/messages?sessionId={sid}"

        async def events():
            yield sse(endpoint, event="endpoint")
            while True:
                yield await queue.get()

        return StreamingResponse(events(), media_type="text/event-stream")

    async def messages(self, request: Request) -> Response:
        body = await request.body()
        self.seen.append(Seen(request.method, request.url.path, dict(request.headers), body))
        queue = self._queues.get(request.query_params.get("sessionId", ""))
        if queue is None:
            return Response("unknown session", status_code=404)
        msg = json.loads(body)
        if "id" in msg and "method" in msg:
            if msg["method"] == "initialize":
                result = {"protocolVersion": "2024-11-05", "capabilities": {"tools": {}}, "serverInfo": {"name": "fake-legacy", "version": "1"}}
                reply = {"jsonrpc": "2.0", "id": msg["id"], "result": result}
            elif msg["method"] == "tools/call":
                reply = _text(msg["id"], json.dumps(msg["params"].get("arguments") or {}, separators=(",", ":")))
            else:
                reply = {"jsonrpc": "2.0", "id": msg["id"], "result": {"tools": []}}
            await queue.put(sse(json.dumps(reply), event="message"))
        return Response("Accepted", status_code=202)


class FakeModern:
    """A fake server of the stateless MCP 2026-07-28 wire only, at /mcp.

    It checks what the spec makes a server check (the version header against
    `_meta`, `Mcp-Method`, `Mcp-Name` and `Mcp-Param-*` against the body,
    SEP-2243) and refuses `initialize` the way a modern-only server does
    (400, `UnsupportedProtocolVersion` naming 2026-07-28). What no peer
    offers, on cue:

    - tool `cut`: sends a progress notification, then closes the stream
      without an answer, the first `cuts` times it is called;
    - tool `rounds`: asks for input (`kind`: elicitation, sampling or roots)
      `n` times in a row, each with a `requestState` of its own, then
      answers with what it was given;
    - tool `weird`: answers with an unknown `resultType`;
    - tool `slow`: never answers, and records when the client closes the
      stream (the stateless wire's cancellation);
    - tool `headers`: has an `x-mcp-header` parameter and answers with the
      `Mcp-Param-Region` it received; tool `bad` has an invalid annotation.

    `push(message)` sends a notification on every open `subscriptions/listen`
    stream; `listens` records their filters. Every request is in `seen`.
    """

    VERSION = "2026-07-28"
    TOOLS: list[dict] = []  # set below the class

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.cuts = 1
        self.cancelled: list[Any] = []
        self.listens: list[dict] = []
        self._listeners: list[asyncio.Queue[bytes]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._cut_count = 0
        app = Starlette(routes=[Route("/mcp", self.endpoint, methods=["GET", "POST", "DELETE"])])
        self._bg = _Background(app)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._bg.port}/mcp"

    def __enter__(self) -> "FakeModern":
        self._bg.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bg.stop()

    def requests(self, rpc: str | None = None) -> list[Seen]:
        return [s for s in self.seen if rpc is None or (s.body and _rpc_method(s.body) == rpc)]

    def push(self, message: dict) -> None:
        assert self._loop is not None, "no listen stream was ever opened"
        data = sse(json.dumps(message))
        for q in list(self._listeners):
            self._loop.call_soon_threadsafe(q.put_nowait, data)

    @staticmethod
    def _error(rid: Any, status: int, code: int, message: str, data: Any = None) -> Response:
        error: dict[str, Any] = {"code": code, "message": message}
        if data is not None:
            error["data"] = data
        return JSONResponse({"jsonrpc": "2.0", "id": rid, "error": error}, status_code=status)

    async def endpoint(self, request: Request) -> Response:
        self._loop = asyncio.get_running_loop()
        body = await request.body()
        self.seen.append(Seen(request.method, request.url.path, dict(request.headers), body))
        if request.method != "POST":
            return Response(status_code=405)
        msg = json.loads(body)
        rid, method, params = msg.get("id"), msg.get("method"), msg.get("params") or {}
        if rid is None:
            return Response(status_code=202)
        h = request.headers
        version = h.get("mcp-protocol-version")
        if version is None:
            return self._error(rid, 400, -32020, "Missing MCP-Protocol-Version header")
        meta = params.get("_meta") or {}
        if meta.get("io.modelcontextprotocol/protocolVersion") != version:
            return self._error(rid, 400, -32020, "MCP-Protocol-Version header does not match _meta")
        if version != self.VERSION:
            return self._error(rid, 400, -32022, "Unsupported protocol version", {"supported": [self.VERSION], "requested": version})
        if "io.modelcontextprotocol/clientCapabilities" not in meta:
            return self._error(rid, 400, -32602, "missing clientCapabilities")
        if h.get("mcp-method") != method:
            return self._error(rid, 400, -32020, "Mcp-Method header does not match the body")
        key = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}.get(method)
        if key is not None and _decode(h.get("mcp-name")) != params.get(key):
            return self._error(rid, 400, -32020, "Mcp-Name header does not match the body")
        if method == "server/discover":
            result = {
                "resultType": "complete",
                "supportedVersions": [self.VERSION],
                "capabilities": {"tools": {"listChanged": True}, "resources": {"subscribe": True}},
                "instructions": "A fake of the stateless wire.",
                "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "fake-modern", "version": "7"}},
            }
            return JSONResponse({"jsonrpc": "2.0", "id": rid, "result": result})
        if method == "subscriptions/listen":
            self.listens.append(params.get("notifications") or {})
            return StreamingResponse(self._listen(rid), media_type="text/event-stream")
        if method == "tools/list":
            listing = {"jsonrpc": "2.0", "id": rid, "result": {"resultType": "complete", "ttlMs": 0, "cacheScope": "private", "tools": self.TOOLS}}
            return Response(json.dumps(listing), media_type="application/json")
        if method != "tools/call":
            return self._error(rid, 404, -32601, f"Method not found: {method}")
        name, args = params.get("name"), params.get("arguments") or {}
        if name == "headers":
            if "region" in args and _decode(h.get("mcp-param-region")) != args["region"]:
                return self._error(rid, 400, -32020, "Mcp-Param-Region does not match the body")
            return JSONResponse(_text(rid, f"region header: {h.get('mcp-param-region')}"))
        if name == "echo":
            return JSONResponse(_text(rid, json.dumps(args, separators=(",", ":"))))
        if name == "cut":
            self._cut_count += 1
            return StreamingResponse(self._cut(rid, self._cut_count <= self.cuts), media_type="text/event-stream")
        if name == "rounds":
            return JSONResponse(self._round(rid, args, params))
        if name == "weird":
            return JSONResponse({"jsonrpc": "2.0", "id": rid, "result": {"resultType": "grafted", "content": []}})
        if name == "slow":
            return StreamingResponse(self._slow(rid, request), media_type="text/event-stream")
        return self._error(rid, 400, -32602, f"unknown tool {name}")

    def _round(self, rid: Any, args: dict, params: dict) -> dict:
        n, kind = int(args.get("n", 1)), args.get("kind", "elicitation")
        state = params.get("requestState")
        done = int(state.removeprefix("round-")) if state else 0
        if done and f"q{done}" not in (params.get("inputResponses") or {}):
            return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32602, "message": f"no answer to q{done}"}}
        if done >= n:
            answers = params.get("inputResponses") or {}
            return _text(rid, f"after {done} rounds: {json.dumps(answers, separators=(',', ':'))}")
        ask = {
            "elicitation": {"method": "elicitation/create", "params": {"message": f"question {done + 1}?", "requestedSchema": {"type": "object", "properties": {"answer": {"type": "string"}}}}},
            "sampling": {"method": "sampling/createMessage", "params": {"messages": [{"role": "user", "content": {"type": "text", "text": "2+2?"}}], "maxTokens": 5}},
            "roots": {"method": "roots/list"},
        }[kind]
        result = {"resultType": "input_required", "inputRequests": {f"q{done + 1}": ask}, "requestState": f"round-{done + 1}"}
        return {"jsonrpc": "2.0", "id": rid, "result": result}

    async def _listen(self, rid: Any):
        q: asyncio.Queue[bytes] = asyncio.Queue()
        self._listeners.append(q)
        ack = {"jsonrpc": "2.0", "method": "notifications/subscriptions/acknowledged", "params": {"notifications": self.listens[-1], "_meta": {"io.modelcontextprotocol/subscriptionId": rid}}}
        try:
            yield sse(json.dumps(ack))
            while True:
                yield await q.get()
        finally:
            self._listeners.remove(q)

    async def _cut(self, rid: Any, cut: bool):
        note = {"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progressToken": "p", "progress": 1}}
        yield sse(json.dumps(note))
        if cut:
            return  # the stream ends here, with no answer
        yield sse(json.dumps(_text(rid, "made it")))

    async def _slow(self, rid: Any, request: Request):
        finished = False
        try:
            yield b": working\n\n"
            await asyncio.sleep(10)
            finished = True
            yield sse(json.dumps(_text(rid, "too late")))
        finally:
            if not finished:
                # The client closed the stream: on this wire, a cancellation.
                self.cancelled.append(rid)


_MODERN_TOOLS = [
    {"name": "echo", "inputSchema": {"type": "object"}},
    {"name": "headers", "inputSchema": {"type": "object", "properties": {"region": {"type": "string", "x-mcp-header": "Region"}, "note": {"type": "string"}}}},
    {"name": "bad", "description": "x-mcp-header on a number", "inputSchema": {"type": "object", "properties": {"score": {"type": "number", "x-mcp-header": "Score"}}}},
    {"name": "cut", "inputSchema": {"type": "object"}},
    {"name": "rounds", "inputSchema": {"type": "object", "properties": {"n": {"type": "integer"}, "kind": {"type": "string"}}}},
    {"name": "weird", "inputSchema": {"type": "object"}},
    {"name": "slow", "inputSchema": {"type": "object"}},
]


FakeModern.TOOLS = _MODERN_TOOLS


def _decode(value: str | None) -> str | None:
    """A SEP-2243 header value, Base64 sentinel decoded."""
    if value is not None and value.startswith("=?base64?") and value.endswith("?="):
        import base64

        return base64.b64decode(value[len("=?base64?") : -2]).decode()
    return value


class Redirector:
    """A fake that answers every request with a redirect to `target`."""

    def __init__(self, target: str, status: int = 307) -> None:
        self.seen: list[Seen] = []
        self.target, self.status = target, status
        app = Starlette(routes=[Route("/{path:path}", self.handle, methods=["GET", "POST", "DELETE"])])
        self._bg = _Background(app)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._bg.port}/mcp"

    def __enter__(self) -> "Redirector":
        self._bg.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bg.stop()

    async def handle(self, request: Request) -> Response:
        self.seen.append(Seen(request.method, request.url.path, dict(request.headers), await request.body()))
        return Response(status_code=self.status, headers={"location": self.target})


def _text(rid: Any, text: str) -> dict:
    return {"jsonrpc": "2.0", "id": rid, "result": {"content": [{"type": "text", "text": text}]}}


def _rpc_method(body: bytes) -> str | None:
    try:
        return json.loads(body).get("method")
    except ValueError:
        return None


class FakeDoctor:
    """A fake MCP server with its own authorization server (one origin),
    correct by default, with one knob per misconfiguration `tether doctor`
    must find (set the attribute to True, or a value).

    Correct by default means: a 401 with a Bearer challenge naming the
    protected resource metadata; RFC 9728 and RFC 8414 metadata with CORS
    and no-store; dynamic registration of public native clients with
    loopback redirect URIs (any port, RFC 8252 §7.3); an authorization
    endpoint that checks the client and its redirect URI and approves at once
    (a 302 back with a code, as the conformance suite's test server does);
    a token endpoint that checks the code, PKCE S256 and the client, and
    answers 200 with `token_type` "Bearer", an integer `expires_in` and a
    refresh token that rotates on each use; RFC 7009 revocation; and an MCP
    endpoint that answers `initialize` for the tokens it issued.

    Knobs of the default checks: no_www_authenticate, basic_scheme,
    no_resource_metadata, html_login, html_401, cors_without_expose,
    prm_missing, prm_resource (str), prm_no_as, issuer_mismatch, oidc_only,
    no_s256, no_registration, no_public_clients, http_authorize,
    no_well_known_cors, long_cache, waf_blocks_claude, legacy_only.
    Of the registration and redirect probes: reg_float_expiry,
    reg_string_expiry, reg_demands_secret, reg_imposes_post,
    reg_refuses_confidential, reg_refuses_127, strict_redirect_port, no_localhost_redirect,
    open_redirect, refresh_wrong_error. Of the sign-in probe (seed 001): token_201,
    token_expires_string, token_expires_float, token_type_lower,
    token_scope_list, no_refresh_with_offline, token_rejected,
    refresh_refused, refresh_rotation_broken, revocation_ignored.
    `hostile` (a str) is put into words the server chooses (a page title,
    `error_description`, `error`, `issuer`) to see that none reaches the
    report with its control characters.
    """

    KNOBS = (
        "no_www_authenticate basic_scheme no_resource_metadata html_login html_401 cors_without_expose prm_missing "
        "prm_no_as issuer_mismatch oidc_only no_s256 no_registration no_public_clients http_authorize "
        "no_well_known_cors long_cache waf_blocks_claude legacy_only "
        "reg_float_expiry reg_string_expiry reg_demands_secret reg_imposes_post reg_refuses_confidential reg_refuses_127 "
        "strict_redirect_port "
        "no_localhost_redirect open_redirect refresh_wrong_error "
        "token_201 token_expires_string token_expires_float token_type_lower token_scope_list no_refresh_with_offline "
        "token_rejected refresh_refused refresh_rotation_broken revocation_ignored"
    ).split()

    LOOPBACK = ("127.0.0.1", "localhost", "[::1]")

    def __init__(self) -> None:
        for k in self.KNOBS:
            setattr(self, k, False)
        self.prm_resource: str | None = None
        # client_id -> its registration (redirect_uris, secret or None)
        self.registered: dict[str, dict] = {}
        self.codes: dict[str, dict] = {}
        self.access_tokens: set[str] = set()
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> client_id
        self.issued: list[str] = []  # every token ever issued, revoked or not
        self.revocations = 0
        self.hostile = ""
        self.seen: list[Seen] = []
        app = Starlette(
            routes=[
                Route("/mcp", self.mcp, methods=["GET", "POST", "DELETE", "OPTIONS"]),
                Route("/.well-known/oauth-protected-resource/mcp", self.prm, methods=["GET", "OPTIONS"]),
                Route("/.well-known/oauth-protected-resource", self.prm_root, methods=["GET", "OPTIONS"]),
                Route("/.well-known/oauth-authorization-server", self.as_metadata, methods=["GET", "OPTIONS"]),
                Route("/.well-known/openid-configuration", self.oidc_metadata, methods=["GET", "OPTIONS"]),
                Route("/register", self.register, methods=["POST"]),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
                Route("/revoke", self.revoke, methods=["POST"]),
            ]
        )
        self._bg = _Background(app)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self._bg.port}"

    @property
    def url(self) -> str:
        return f"{self.origin}/mcp"

    def __enter__(self) -> "FakeDoctor":
        self._bg.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bg.stop()

    def _cors(self) -> dict[str, str]:
        if self.no_well_known_cors:
            return {}
        return {
            "access-control-allow-origin": "*",
            "access-control-allow-methods": "GET, OPTIONS",
            "access-control-allow-headers": "Content-Type, Authorization, MCP-Protocol-Version",
        }

    def _meta_headers(self) -> dict[str, str]:
        return {**self._cors(), "cache-control": "public, max-age=86400" if self.long_cache else "no-store"}

    def _challenge(self) -> dict[str, str]:
        return {"WWW-Authenticate": f'Bearer resource_metadata="{self.origin}/.well-known/oauth-protected-resource/mcp"'}

    def _token_ok(self, request: Request) -> bool:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        return not self.token_rejected and token in self.access_tokens

    async def mcp(self, request: Request) -> Response:
        body = await request.body()
        self.seen.append(Seen(request.method, request.url.path, dict(request.headers), body))
        if self.waf_blocks_claude and "claude" in request.headers.get("user-agent", "").lower():
            return Response("<html><head><title>Attention Required! | Cloudflare</title></head></html>", status_code=403, media_type="text/html")
        if self.legacy_only:
            if request.method == "GET":
                if self._token_ok(request):
                    return Response(sse("/messages", event="endpoint"), media_type="text/event-stream")
                return Response(status_code=401, headers=self._challenge())
            return Response("Cannot POST /mcp", status_code=404)
        if request.method == "OPTIONS":
            return Response(status_code=403)
        if self.html_login:
            return Response(f"<html><head><title>Sign in to Corp{self.hostile}</title></head><body>…</body></html>", media_type="text/html")
        if self._token_ok(request):
            return self._answer(request.method, body)
        headers: dict[str, str] = {}
        if not self.no_www_authenticate:
            if self.basic_scheme:
                headers["WWW-Authenticate"] = 'Basic realm="mcp"'
            elif self.no_resource_metadata:
                headers["WWW-Authenticate"] = "Bearer"
            else:
                headers.update(self._challenge())
        if "origin" in request.headers:
            headers["access-control-allow-origin"] = request.headers["origin"]
            if not self.cors_without_expose:
                headers["access-control-expose-headers"] = "WWW-Authenticate, Mcp-Session-Id"
        if self.html_401:
            page = "<!doctype html><html><head><title>Sign in – Corp SSO</title></head><body><form method=post action=/login></form></body></html>"
            return Response(page, status_code=401, media_type="text/html", headers=headers)
        return JSONResponse({"error": "unauthorized"}, status_code=401, headers=headers)

    @staticmethod
    def _answer(method: str, body: bytes) -> Response:
        """A minimal MCP server for a signed-in client: initialize, the rest -32601."""
        if method == "DELETE":
            return Response(status_code=200)
        if method != "POST":
            return Response(status_code=405)
        msg = json.loads(body)
        if msg.get("method") == "initialize":
            version = msg["params"].get("protocolVersion", "2025-06-18")
            result = {"protocolVersion": version, "capabilities": {}, "serverInfo": {"name": "fake-doctor", "version": "1"}}
            return JSONResponse({"jsonrpc": "2.0", "id": msg["id"], "result": result})
        if "id" not in msg:
            return Response(status_code=202)
        return JSONResponse({"jsonrpc": "2.0", "id": msg["id"], "error": {"code": -32601, "message": "Method not found"}})

    async def prm(self, request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(status_code=204, headers=self._cors()) if self._cors() else Response(status_code=405)
        if self.prm_missing:
            return Response("not found", status_code=404)
        doc: dict = {"resource": self.prm_resource or self.url, "scopes_supported": ["mcp"]}
        if not self.prm_no_as:
            doc["authorization_servers"] = [self.origin]
        return JSONResponse(doc, headers=self._meta_headers())

    async def prm_root(self, request: Request) -> Response:
        return Response("not found", status_code=404)

    def _metadata(self) -> dict:
        meta = {
            "issuer": f"https://evil.example{self.hostile}" if self.issuer_mismatch else self.origin,
            "authorization_endpoint": "http://login.example.com/authorize" if self.http_authorize else f"{self.origin}/authorize",
            "token_endpoint": f"{self.origin}/token",
            "revocation_endpoint": f"{self.origin}/revoke",
            "code_challenge_methods_supported": ["plain"] if self.no_s256 else ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"] if self.no_public_clients else ["none", "client_secret_basic", "client_secret_post"],
            "scopes_supported": ["mcp", "offline_access"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "response_types_supported": ["code"],
        }
        if not self.no_registration:
            meta["registration_endpoint"] = f"{self.origin}/register"
        return meta

    async def as_metadata(self, request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(status_code=204, headers=self._cors()) if self._cors() else Response(status_code=405)
        if self.oidc_only:
            return Response("not found", status_code=404)
        return JSONResponse(self._metadata(), headers=self._meta_headers())

    async def oidc_metadata(self, request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(status_code=204, headers=self._cors()) if self._cors() else Response(status_code=405)
        if not self.oidc_only:
            return Response("not found", status_code=404)
        return JSONResponse(self._metadata(), headers=self._meta_headers())

    @staticmethod
    def _split(uri: str):
        from urllib.parse import urlsplit

        u = urlsplit(uri)
        return u.scheme, u.hostname, u.port, u.path

    def _redirect_allowed(self, registered: list[str], redirect: str) -> bool:
        if redirect in registered:
            return True
        if self.strict_redirect_port:
            return False
        scheme, host, _, path = self._split(redirect)
        # RFC 8252 §7.3: any port for a loopback redirect, the rest exact.
        return scheme == "http" and any(
            self._split(r)[0] == scheme and self._split(r)[1] == host and self._split(r)[3] == path and host in ("127.0.0.1", "localhost", "::1")
            for r in registered
        )

    async def register(self, request: Request) -> Response:
        body = json.loads(await request.body())
        method = body.get("token_endpoint_auth_method")
        uris = body.get("redirect_uris") or []
        for uri in uris:
            _, host, _, _ = self._split(uri)
            if (self.reg_refuses_127 and host == "127.0.0.1") or (self.no_localhost_redirect and host == "localhost"):
                return JSONResponse({"error": "invalid_redirect_uri", "error_description": f"redirect URI {uri} is not allowed"}, status_code=400)
        if self.reg_refuses_confidential and method != "none":
            # better-auth before the fix seed 001 gives: a confidential client only with prior authentication.
            return JSONResponse({"error": "invalid_client", "error_description": "authentication required to register a confidential client"}, status_code=401)
        if self.reg_demands_secret and method == "none":
            return JSONResponse({"error": "invalid_client_metadata", "error_description": f"public clients are not allowed{self.hostile}"}, status_code=400)
        client_id = uuid.uuid4().hex
        reply: dict = {"client_id": client_id, "redirect_uris": uris, "client_name": body.get("client_name")}
        secret = None
        if self.reg_imposes_post or method != "none":
            secret = uuid.uuid4().hex
            reply |= {"client_secret": secret, "token_endpoint_auth_method": "client_secret_post", "client_secret_expires_at": 0}
        else:
            reply["token_endpoint_auth_method"] = "none"
        if self.reg_float_expiry:
            reply["client_secret_expires_at"] = 1.9e9 + 0.5
        if self.reg_string_expiry:
            reply["client_secret_expires_at"] = "1900000000"
        self.registered[client_id] = {"redirect_uris": uris, "secret": secret}
        return JSONResponse(reply, status_code=201)

    async def authorize(self, request: Request) -> Response:
        from urllib.parse import urlencode

        q = request.query_params
        client = self.registered.get(q.get("client_id", ""))
        redirect = q.get("redirect_uri", "")
        refused = Response("<html><body>invalid redirect_uri</body></html>", status_code=400, media_type="text/html")
        if client is None or not (self.open_redirect or self._redirect_allowed(client["redirect_uris"], redirect)):
            return refused
        if self.no_localhost_redirect and self._split(redirect)[1] == "localhost":
            return refused
        code = uuid.uuid4().hex
        self.codes[code] = {
            "client_id": q["client_id"],
            "redirect_uri": redirect,
            "challenge": q.get("code_challenge"),
            "scope": q.get("scope", ""),
        }
        return Response(status_code=302, headers={"location": f"{redirect}?{urlencode({'code': code, 'state': q.get('state', '')})}"})

    def _client_of(self, form, request: Request) -> str | None:
        """The authenticated client: client_id (+ client_secret in the body, or HTTP Basic)."""
        import base64
        from urllib.parse import unquote_plus

        client_id, secret = form.get("client_id"), form.get("client_secret")
        auth = request.headers.get("authorization", "")
        if auth.startswith("Basic "):
            pair = base64.b64decode(auth[6:]).decode()
            client_id, _, secret = (unquote_plus(x) for x in pair.partition(":"))
        client = self.registered.get(client_id or "")
        if client is None or (client["secret"] is not None and client["secret"] != secret):
            return None
        return client_id

    def _tokens(self, client_id: str, scope: str, status: int = 200) -> Response:
        access = uuid.uuid4().hex
        self.access_tokens.add(access)
        self.issued.append(access)
        body: dict = {"access_token": access, "token_type": "bearer" if self.token_type_lower else "Bearer", "expires_in": 3600}
        if self.token_expires_string:
            body["expires_in"] = "3600"
        if self.token_expires_float:
            body["expires_in"] = 3599.5
        body["scope"] = scope.split() if self.token_scope_list else scope
        if not self.no_refresh_with_offline:
            refresh = uuid.uuid4().hex
            self.refresh_tokens[refresh] = client_id
            self.issued.append(refresh)
            body["refresh_token"] = refresh
        return JSONResponse(body, status_code=201 if self.token_201 else status, headers={"cache-control": "no-store"})

    async def token(self, request: Request) -> Response:
        import base64
        import hashlib

        form = dict((await request.form()).items())
        grant = form.get("grant_type")
        if grant == "refresh_token":
            rt = form.get("refresh_token", "")
            if rt not in self.refresh_tokens:
                if self.refresh_wrong_error:
                    return JSONResponse({"error": f"server_error{self.hostile}"}, status_code=500)
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            client_id = self._client_of(form, request)
            if client_id is None or client_id != self.refresh_tokens[rt]:
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            if self.refresh_refused:
                return JSONResponse({"error": "invalid_grant", "error_description": "refresh tokens are not accepted"}, status_code=400)
            del self.refresh_tokens[rt]  # rotated: single use
            if self.refresh_rotation_broken:
                access = uuid.uuid4().hex
                self.access_tokens.add(access)
                return JSONResponse({"access_token": access, "token_type": "Bearer", "expires_in": 3600, "scope": "mcp offline_access"})
            return self._tokens(client_id, "mcp offline_access")
        if grant == "authorization_code":
            grant_of = self.codes.pop(form.get("code", ""), None)
            client_id = self._client_of(form, request)
            if grant_of is None or client_id != grant_of["client_id"] or form.get("redirect_uri") != grant_of["redirect_uri"]:
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant_of["challenge"]:
                return JSONResponse({"error": "invalid_grant", "error_description": "PKCE verification failed"}, status_code=400)
            return self._tokens(client_id, grant_of["scope"])
        return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)

    async def revoke(self, request: Request) -> Response:
        form = dict((await request.form()).items())
        self.revocations += 1
        if self._client_of(form, request) is None:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        if not self.revocation_ignored:
            token = form.get("token", "")
            self.refresh_tokens.pop(token, None)
            self.access_tokens.discard(token)
        return Response(status_code=200)
