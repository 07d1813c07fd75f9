// A fake MCP server for the benchmark's era figures (not a peer): one echo
// tool served in both eras by the same code, so that only the era differs.
//
//   node era-echo.mjs <port>
//
// - /legacy speaks the 2025 handshake (2025-06-18 Streamable HTTP):
//   `initialize` opens a session (Mcp-Session-Id), notifications get 202,
//   GET gets 405 (no stream), DELETE ends the session.
// - /modern speaks only the stateless 2026-07-28 wire: each request names
//   its version in the MCP-Protocol-Version header and in `_meta`;
//   `initialize` is refused with 400 and UnsupportedProtocolVersion naming
//   2026-07-28, as a modern-only server refuses it; `server/discover`
//   answers.
//
// Answers are single JSON bodies in both eras. No dependencies beyond Node.

import http from "node:http";
import { randomUUID } from "node:crypto";

const MODERN = "2026-07-28";
const TOOLS = [
  {
    name: "echo",
    description: "Echoes back the input",
    inputSchema: { type: "object", properties: { message: { type: "string" } }, required: ["message"] },
  },
];

function handle(method, params) {
  switch (method) {
    case "tools/list":
      return { tools: TOOLS };
    case "tools/call":
      return { content: [{ type: "text", text: `Echo: ${params?.arguments?.message}` }] };
    default:
      return undefined;
  }
}

function send(res, status, body, headers = {}) {
  const text = body === undefined ? "" : JSON.stringify(body);
  res.writeHead(status, body === undefined ? headers : { "content-type": "application/json", ...headers });
  res.end(text);
}

const sessions = new Set();

function legacy(req, res, msg) {
  if (req.method === "GET") return send(res, 405);
  if (req.method === "DELETE") {
    sessions.delete(req.headers["mcp-session-id"]);
    return send(res, 200);
  }
  if (msg.method === "initialize") {
    const id = randomUUID();
    sessions.add(id);
    const result = {
      protocolVersion: msg.params.protocolVersion,
      capabilities: { tools: {} },
      serverInfo: { name: "era-echo", version: "1" },
    };
    return send(res, 200, { jsonrpc: "2.0", id: msg.id, result }, { "mcp-session-id": id });
  }
  if (!sessions.has(req.headers["mcp-session-id"])) return send(res, 404);
  if (msg.id === undefined) return send(res, 202);
  const result = handle(msg.method, msg.params);
  if (result === undefined) return send(res, 200, { jsonrpc: "2.0", id: msg.id, error: { code: -32601, message: "Method not found" } });
  return send(res, 200, { jsonrpc: "2.0", id: msg.id, result });
}

function modern(req, res, msg) {
  if (req.method !== "POST") return send(res, 405);
  if (msg.id === undefined) return send(res, 202);
  const version = req.headers["mcp-protocol-version"];
  const meta = msg.params?._meta ?? {};
  const error = (status, code, message, data) =>
    send(res, status, { jsonrpc: "2.0", id: msg.id, error: { code, message, ...(data ? { data } : {}) } });
  if (!version) return error(400, -32020, "Missing MCP-Protocol-Version header");
  if (meta["io.modelcontextprotocol/protocolVersion"] !== version) return error(400, -32020, "header and _meta disagree");
  if (version !== MODERN) return error(400, -32022, "Unsupported protocol version", { supported: [MODERN], requested: version });
  if (req.headers["mcp-method"] !== msg.method) return error(400, -32020, "Mcp-Method does not match");
  if (msg.method === "server/discover") {
    const result = {
      resultType: "complete",
      ttlMs: 0,
      cacheScope: "public",
      supportedVersions: [MODERN],
      capabilities: { tools: {} },
      _meta: { "io.modelcontextprotocol/serverInfo": { name: "era-echo", version: "1" } },
    };
    return send(res, 200, { jsonrpc: "2.0", id: msg.id, result });
  }
  const result = handle(msg.method, msg.params);
  if (result === undefined) return error(404, -32601, "Method not found");
  return send(res, 200, { jsonrpc: "2.0", id: msg.id, result: { resultType: "complete", ...result } });
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    let msg = {};
    if (chunks.length) {
      try {
        msg = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        return send(res, 400, { jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error" } });
      }
    }
    if (req.url === "/legacy") return legacy(req, res, msg);
    if (req.url === "/modern") return modern(req, res, msg);
    return send(res, 404);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.argv[2]), "127.0.0.1");
