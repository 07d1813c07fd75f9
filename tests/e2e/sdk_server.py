#!/usr/bin/env python3
"""A server built on the official MCP Python SDK 2.x (PyPI `mcp`, pinned in
tests/requirements.txt), for the era tests: `sdk_server.py <port>` serves
Streamable HTTP at http://127.0.0.1:<port>/mcp.

The SDK server is dual-era: a request with the 2026-07-28 `_meta` is served
on the stateless wire, an `initialize` opens a 2025-era session. Its tools
ask the client for input through the SDK's resolvers, which the SDK turns
into `input_required` results (MRTR, SEP-2322) on the modern wire and into
server-to-client requests on the legacy one:

- `greet`: asks the user's name (elicitation) and says hello.
- `consult_model`: samples the client's model (sampling/createMessage).
- `my_roots`: lists the client's roots.
- `greet_and_ask`: asks both at once (two input requests in one round).
- `add_tool`: adds a tool `extra_<n>` and announces the change
  (notifications/tools/list_changed on subscriptions/listen streams).
- `touch`: announces that the resource `memo://note` changed
  (notifications/resources/updated).
- `echo`: returns its `text`.

Everything here is the SDK's own behaviour; only the tools are ours."""

from __future__ import annotations

import sys
from typing import Annotated

import uvicorn
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.resolve import Elicit, ListRoots, Resolve, Sample
from mcp_types import CreateMessageResult, ListRootsResult, SamplingMessage, TextContent
from pydantic import BaseModel

server = MCPServer("sdk-era-peer", version="2.0", instructions="A peer for Tether's era tests.")


class Name(BaseModel):
    name: str


def ask_name() -> Elicit[Name]:
    return Elicit("What is your name?", Name)


def ask_model() -> Sample:
    return Sample(
        [SamplingMessage(role="user", content=TextContent(type="text", text="What is 6 times 7?"))],
        max_tokens=10,
    )


def ask_roots() -> ListRoots:
    return ListRoots()


@server.tool()
async def greet(who: Annotated[Name, Resolve(ask_name)]) -> str:
    """Asks your name and greets you."""
    return f"Hello, {who.name}!"


@server.tool()
async def consult_model(answer: Annotated[CreateMessageResult, Resolve(ask_model)]) -> str:
    """Asks the client's model a question."""
    content = answer.content
    text = content.text if isinstance(content, TextContent) else str(content)
    return f"The model said: {text}"


@server.tool()
async def my_roots(roots: Annotated[ListRootsResult, Resolve(ask_roots)]) -> str:
    """Lists the client's roots."""
    return "roots: " + ", ".join(str(r.uri) for r in roots.roots)


@server.tool()
async def greet_and_ask(
    who: Annotated[Name, Resolve(ask_name)],
    answer: Annotated[CreateMessageResult, Resolve(ask_model)],
) -> str:
    """Asks two things in one round."""
    content = answer.content
    text = content.text if isinstance(content, TextContent) else str(content)
    return f"{who.name} asked; the model said {text}"


ADDED: list[str] = []


@server.tool()
async def add_tool(ctx: Context) -> str:
    """Adds a tool and announces the change."""
    name = f"extra_{len(ADDED) + 1}"
    ADDED.append(name)

    async def extra() -> str:
        return name

    server.add_tool(extra, name=name, description="added at run time")
    await ctx.notify_tools_changed()
    return f"added {name}"


@server.resource("memo://note")
def note() -> str:
    """A note whose updates clients can subscribe to."""
    return "a note"


@server.tool()
async def touch(ctx: Context) -> str:
    """Announces that memo://note changed."""
    await ctx.notify_resource_updated("memo://note")
    return "touched"


@server.tool()
async def echo(text: str) -> str:
    """Returns its text."""
    return text


if __name__ == "__main__":
    port = int(sys.argv[1])
    uvicorn.run(server.streamable_http_app(), host="127.0.0.1", port=port, log_level="warning")
