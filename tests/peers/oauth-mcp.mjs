// A real OAuth 2.1 authorization server (oidc-provider, a certified OpenID
// provider) in front of an MCP server, for Tether's end-to-end tests of its
// OAuth client. Two origins on 127.0.0.1, as in production MCP deployments:
//
//   AS  http://127.0.0.1:A        oidc-provider 9.13.3 (DCR, PKCE, RFC 8707/9207/7009)
//   RS  http://127.0.0.1:B/mcp    bearer check, then a streaming proxy to --upstream
//       http://127.0.0.1:B/test/* counters and helpers for the tests
//
// Usage: node oauth-mcp.mjs --upstream http://127.0.0.1:<p>/mcp [--access-ttl S]
//        [--refresh-ttl S] [--no-registration] [--device-flow] [--cimd]
//
// Prints one JSON line on stdout when both servers listen, then logs to stderr
// only: the test harness reads stdout for that line and nothing else.

import * as crypto from 'node:crypto';
import * as http from 'node:http';
import { parseArgs } from 'node:util';

import Provider, { errors } from 'oidc-provider';

// oidc-provider prints its notices with console.info, i.e. on stdout; the ready
// line must be the only thing there.
console.info = console.error;
console.log = console.error;
console.debug = console.error;

const log = (...args) => console.error('[oauth-mcp]', ...args);

const { values: opts } = parseArgs({
  options: {
    upstream: { type: 'string' },
    'access-ttl': { type: 'string', default: '60' },
    'refresh-ttl': { type: 'string', default: '86400' },
    'no-registration': { type: 'boolean', default: false },
    'device-flow': { type: 'boolean', default: false },
    cimd: { type: 'boolean', default: false },
  },
  strict: true,
});

function positiveInt(name) {
  const n = Number(opts[name]);
  if (!Number.isSafeInteger(n) || n <= 0) {
    console.error(`--${name} must be a positive integer of seconds, got ${opts[name]}`);
    process.exit(2);
  }
  return n;
}

if (!opts.upstream) {
  console.error('--upstream http://127.0.0.1:<port>/mcp is required');
  process.exit(2);
}
const UPSTREAM = new URL(opts.upstream);
const ACCESS_TTL = positiveInt('access-ttl');
const REFRESH_TTL = positiveInt('refresh-ttl');
const ACCOUNT = 'ada';
const RS_SCOPE = 'mcp:tools';
const SCOPES = ['openid', 'offline_access', RS_SCOPE];

// ---------------------------------------------------------------- counters

function freshStats() {
  return {
    registrations: 0,
    registration_errors: 0,
    authorization_requests: 0,
    // grant_type -> outcome ("ok" or the OAuth error code) -> count. The two
    // grants every test looks at are there from the start, so reading a zero
    // needs no special case.
    token: {
      authorization_code: { ok: 0, invalid_grant: 0 },
      refresh_token: { ok: 0, invalid_grant: 0 },
    },
    refresh_events: [], // {t: ms, outcome, error_description?}
    revocations: 0,
    device_authorizations: 0,
    cimd_fetches: 0,
    mcp: { accepted: 0, rejected: 0 },
    // The resource and scope parameters exactly as each request carried them
    // (null when absent; a list when repeated).
    requests: { auth: [], token: [], device: [] },
  };
}
let stats = freshStats();

const bump = (obj, key) => { obj[key] = (obj[key] ?? 0) + 1; };
const param = (v) => (v === undefined ? null : v);

// ---------------------------------------------------------------- storage

// oidc-provider's built-in memory adapter is an LRU of ~1000 entries: a long
// soak test that refreshes often could evict a client registration or a grant
// mid-test. This one keeps everything until its own expiry, and nothing longer
// (no clock tolerance), so an expired token is simply gone.
const store = new Map(); // `${model}:${id}` -> {payload, expiresAt}
const grantIndex = new Map(); // grantId -> Set of keys
const uidIndex = new Map(); // session uid -> key
const userCodeIndex = new Map(); // device user code -> key

class MapAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  static get(key) {
    const entry = store.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      store.delete(key);
      return undefined;
    }
    return entry.payload;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : undefined;
    store.set(key, { payload, expiresAt });
    if (payload.grantId) {
      if (!grantIndex.has(payload.grantId)) grantIndex.set(payload.grantId, new Set());
      grantIndex.get(payload.grantId).add(key);
    }
    if (payload.uid) uidIndex.set(payload.uid, key);
    if (payload.userCode) userCodeIndex.set(payload.userCode, key);
  }

  async find(id) {
    return MapAdapter.get(this.key(id));
  }

  async findByUid(uid) {
    const key = uidIndex.get(uid);
    return key ? MapAdapter.get(key) : undefined;
  }

  async findByUserCode(userCode) {
    const key = userCodeIndex.get(userCode);
    return key ? MapAdapter.get(key) : undefined;
  }

  async consume(id) {
    const payload = MapAdapter.get(this.key(id));
    if (payload) payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    store.delete(this.key(id));
  }

  async revokeByGrantId(grantId) {
    const keys = grantIndex.get(grantId);
    if (!keys) return;
    for (const key of keys) {
      if (key.startsWith(`${this.model}:`)) {
        store.delete(key);
        keys.delete(key);
      }
    }
    if (!keys.size) grantIndex.delete(grantId);
  }
}

// ---------------------------------------------------------------- servers

function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });
}

const asServer = http.createServer();
const rsServer = http.createServer();
const asPort = await listen(asServer);
const rsPort = await listen(rsServer);
const ISSUER = `http://127.0.0.1:${asPort}`;
const RS_ORIGIN = `http://127.0.0.1:${rsPort}`;
const MCP_URL = `${RS_ORIGIN}/mcp`;
const PRM_URL = `${RS_ORIGIN}/.well-known/oauth-protected-resource/mcp`;

// ---------------------------------------------------------------- CIMD

// Client ID Metadata Documents live at https URLs the AS must fetch; there is
// no network here, so the tests hand the documents to this process
// (POST /test/cimd) and oidc-provider's `fetch` hook serves them. Everything
// else still goes to the real fetch.
const cimdDocuments = new Map(); // client_id URL -> document

async function peerFetch(url, options) {
  const doc = cimdDocuments.get(String(url));
  if (doc) {
    stats.cimd_fetches += 1;
    return new Response(JSON.stringify(doc), {
      status: 200,
      headers: { 'content-type': 'application/json', 'cache-control': 'max-age=30' },
    });
  }
  return globalThis.fetch(url, options);
}

// ---------------------------------------------------------------- the AS

// A fresh signing key per run, for ID tokens (the default client metadata
// signs them with RS256); without one oidc-provider falls back to its
// published development keys.
const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256', kid: 'oauth-mcp' };

const provider = new Provider(ISSUER, {
  adapter: MapAdapter,
  jwks: { keys: [signingKey] },
  // The one account. Any other sub is unknown, so a token that names another
  // account is refused.
  async findAccount(ctx, sub) {
    if (sub !== ACCOUNT) return undefined;
    return { accountId: ACCOUNT, async claims() { return { sub: ACCOUNT }; } };
  },
  // mcp:tools is listed so that it is advertised in scopes_supported; the
  // access token for /mcp gets it through the resource server's scope below.
  scopes: SCOPES,
  // OAuth 2.1: the authorization code flow only (no implicit, no hybrid).
  responseTypes: ['code'],
  pkce: { required: () => true }, // S256 is the only method oidc-provider implements
  // Refresh tokens for any client registered with the refresh_token grant.
  // oidc-provider's default also wants `offline_access` granted, which OIDC
  // only lets through with prompt=consent; MCP clients rarely ask for either.
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  // Rotate on every use: the old token is consumed, and a second use of it is
  // refused with invalid_grant (and, as OAuth 2.1 reuse detection wants,
  // revokes the whole grant).
  rotateRefreshToken: true,
  // Tokens live by their TTLs, not by the browser session at the AS: a native
  // client has no part in that session.
  expiresWithSession: async () => false,
  ttl: {
    AccessToken: (ctx, token) => token.resourceServer?.accessTokenTTL ?? ACCESS_TTL,
    // Each rotated refresh token gets the full --refresh-ttl again.
    RefreshToken: REFRESH_TTL,
    AuthorizationCode: 60,
    IdToken: 3600,
    DeviceCode: 600,
    Interaction: 3600,
    Session: 14 * 24 * 3600,
    // The grant must outlive every refresh token chained on it.
    Grant: Math.max(REFRESH_TTL * 10, 30 * 24 * 3600),
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  features: {
    devInteractions: { enabled: false }, // replaced by the automatic login/consent below
    // The RS takes Bearer tokens only; a DPoP-bound token would not be usable there.
    dPoP: { enabled: false },
    registration: { enabled: !opts['no-registration'], initialAccessToken: false },
    revocation: { enabled: true },
    deviceFlow: { enabled: opts['device-flow'] },
    clientIdMetadataDocument: { enabled: opts.cimd, ack: 'draft-02' },
    resourceIndicators: {
      enabled: true,
      // A token request without `resource` (e.g. a refresh) gets a token for
      // the resource the grant was made for; by default oidc-provider would
      // issue a userinfo token instead when `openid` is in the grant.
      useGrantedResource: async () => true,
      async getResourceServerInfo(ctx, resourceIndicator) {
        if (resourceIndicator !== MCP_URL) throw new errors.InvalidTarget();
        return {
          scope: RS_SCOPE,
          audience: MCP_URL,
          accessTokenTTL: ACCESS_TTL,
          accessTokenFormat: 'opaque',
        };
      },
    },
  },
  fetch: peerFetch,
});

provider.on('server_error', (ctx, err) => log('AS server_error', ctx.method, ctx.path, err));

// -- cookie-less browsers. A scripted browser such as `curl -L` follows
// redirects without a cookie jar. oidc-provider binds the interaction and its
// resume step to the browser with two short cookies named after the
// interaction uid; a browser that did not send them gets them here, from the
// uid in the path, so the flow completes. That binding protects a real user,
// and there is none: every interaction logs in the same account anyway.
const COOKIE_FOR = {
  interaction: provider.cookieName('interaction'),
  auth: provider.cookieName('resume'),
  device: provider.cookieName('resume'),
};
provider.use(async (ctx, next) => {
  const m = /^\/(interaction|auth|device)\/([A-Za-z0-9_-]+)$/.exec(ctx.path);
  if (m && ctx.method === 'GET') {
    const name = COOKIE_FOR[m[1]];
    const header = ctx.req.headers.cookie ?? '';
    if (!header.split(/;\s*/).some((c) => c.startsWith(`${name}=`))) {
      ctx.req.headers.cookie = [header, `${name}=${m[2]}`].filter(Boolean).join('; ');
    }
  }
  return next();
});

// -- counters, from the requests and responses themselves.
provider.use(async (ctx, next) => {
  const started = Date.now();
  const { path, method } = ctx;
  const isAuth = method === 'GET' && path === '/auth';
  if (isAuth) {
    stats.authorization_requests += 1;
    stats.requests.auth.push({
      t: started,
      client_id: param(ctx.query.client_id),
      resource: param(ctx.query.resource),
      scope: param(ctx.query.scope),
    });
  }
  try {
    await next();
  } finally {
    log('AS', method, ctx.url.length > 200 ? `${ctx.url.slice(0, 200)}…` : ctx.url, ctx.status);
    const body = method === 'POST' ? ctx.oidc?.body ?? {} : {};
    const error = ctx.status >= 400 ? ctx.body?.error ?? `http_${ctx.status}` : undefined;
    if (method === 'POST' && path === '/token') {
      const grantType = body.grant_type ?? 'missing';
      const outcome = error ?? 'ok';
      stats.token[grantType] ??= {};
      bump(stats.token[grantType], outcome);
      stats.requests.token.push({
        t: started,
        grant_type: grantType,
        resource: param(body.resource),
        scope: param(body.scope),
        outcome,
      });
      if (grantType === 'refresh_token') {
        stats.refresh_events.push({
          t: Date.now(),
          outcome,
          ...(error ? { error_description: ctx.body?.error_description } : {}),
        });
      }
    } else if (method === 'POST' && path === '/reg') {
      if (ctx.status === 201) stats.registrations += 1;
      else stats.registration_errors += 1;
    } else if (method === 'POST' && path === '/token/revocation') {
      stats.revocations += 1;
    } else if (method === 'POST' && path === '/device/auth') {
      stats.device_authorizations += 1;
      stats.requests.device.push({
        t: started,
        client_id: param(body.client_id),
        resource: param(body.resource),
        scope: param(body.scope),
        outcome: error ?? 'ok',
      });
    }
  }
});

// -- automatic login and consent. Whatever the prompt (login, consent, or
// both in turn), the interaction ends at once: the account is `ada`, and the
// grant holds every scope requested and every requested resource (only the
// RS's /mcp passes oidc-provider's resource check, see getResourceServerInfo).
// Login and consent are given together, so there is one interaction per
// authorization request.
async function autoConsent(ctx) {
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const { prompt, params } = details;

  const grant = (details.grantId && await provider.Grant.find(details.grantId))
    || new provider.Grant({ accountId: ACCOUNT, clientId: params.client_id });

  const requested = String(params.scope ?? '').split(' ').filter(Boolean);
  const openidScopes = requested.filter((s) => SCOPES.includes(s));
  if (openidScopes.length) grant.addOIDCScope(openidScopes.join(' '));
  if (prompt.details?.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  const resourceScopes = requested.filter((s) => s === RS_SCOPE);
  for (const resource of [params.resource].flat().filter(Boolean)) {
    if (resourceScopes.length) grant.addResourceScope(resource, resourceScopes.join(' '));
  }
  const grantId = await grant.save();

  const result = { consent: { grantId } };
  if (prompt.name === 'login' || !details.session?.accountId) {
    result.login = { accountId: ACCOUNT };
  }
  log('interaction', details.uid, prompt.name, prompt.reasons.join(','), '-> granted', requested.join(' '), 'for', params.resource ?? '(no resource)');
  await provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
  ctx.respond = false; // interactionFinished wrote the 303 itself
}

provider.use(async (ctx, next) => {
  if (ctx.method === 'GET' && /^\/interaction\/[A-Za-z0-9_-]+$/.test(ctx.path)) {
    try {
      await autoConsent(ctx);
    } catch (err) {
      log('interaction failed', err);
      ctx.status = err instanceof errors.SessionNotFound ? 400 : 500;
      ctx.type = 'text';
      ctx.body = `interaction failed: ${err.message}`;
    }
    return;
  }
  await next();
});

asServer.on('request', provider.callback());

// -- the device flow's user, scripted: what a person does on
// verification_uri_complete (open it, submit the code, confirm), done with
// fetch and a cookie jar against the AS's own pages, so the tests need no
// browser. The login and consent are the automatic ones above.
async function approveDevice(userCode) {
  const jar = new Map();
  const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const remember = (res) => {
    for (const c of res.headers.getSetCookie()) {
      const [pair, ...attrs] = c.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      if (!value || attrs.some((a) => /expires=Thu, 01 Jan 1970/i.test(a))) jar.delete(name);
      else jar.set(name, value);
    }
  };
  const request = async (url, init = {}) => {
    const res = await fetch(new URL(url, ISSUER), {
      ...init,
      redirect: 'manual',
      headers: { ...init.headers, cookie: cookieHeader() },
    });
    remember(res);
    return res;
  };
  const xsrfOf = (html) => /name="xsrf" value="([^"]+)"/.exec(html)?.[1];
  const post = (form) => request('/device', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });

  let res = await request(`/device?user_code=${encodeURIComponent(userCode)}`);
  let html = await res.text();
  const xsrf = xsrfOf(html);
  if (!xsrf) throw new Error(`no form on the verification page (${res.status})`);
  res = await post({ xsrf, user_code: userCode });
  html = await res.text();
  if (!/name="confirm"/.test(html)) throw new Error(`user code not accepted (${res.status}): ${html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').slice(0, 300)}`);
  res = await post({ xsrf: xsrfOf(html) ?? xsrf, user_code: userCode, confirm: 'yes' });
  for (let hops = 0; res.status >= 300 && res.status < 400 && hops < 10; hops += 1) {
    await res.arrayBuffer();
    res = await request(res.headers.get('location'));
  }
  html = await res.text();
  if (res.status !== 200 || !/Sign-in Success/.test(html)) {
    throw new Error(`device approval did not finish (${res.status}): ${html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').slice(0, 300)}`);
  }
}

// ---------------------------------------------------------------- the RS

const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection',
  'te', 'trailer', 'transfer-encoding', 'upgrade',
]);

function forwardable(headers, drop) {
  const named = new Set(String(headers.connection ?? '').toLowerCase().split(',').map((s) => s.trim()).filter(Boolean));
  const out = {};
  for (const [k, v] of Object.entries(headers)) {
    if (!HOP_BY_HOP.has(k) && !named.has(k) && !drop.has(k)) out[k] = v;
  }
  return out;
}

function sendJson(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(text);
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : {};
}

// The token check: the token must be one this AS issued (looked up in its
// store, so revoked or rotated-away grants are gone), unexpired by the clock
// now, and issued for this resource.
async function checkBearer(req) {
  const header = req.headers.authorization;
  if (!header) return { presented: false, why: 'no access token' };
  const m = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  if (!m) return { presented: true, why: 'not a Bearer token' };
  const token = await provider.AccessToken.find(m[1]);
  if (!token) return { presented: true, why: 'unknown, revoked or expired token' };
  if (token.exp <= Date.now() / 1000) return { presented: true, why: 'expired token' };
  if (token.aud !== MCP_URL) return { presented: true, why: `token audience is ${token.aud ?? 'none'}, not ${MCP_URL}` };
  if (!token.scopes.has(RS_SCOPE)) return { presented: true, insufficientScope: true, why: `token scope is "${token.scope ?? ''}"` };
  return { ok: true, token };
}

function challenge(res, verdict) {
  stats.mcp.rejected += 1;
  const parts = [`resource_metadata="${PRM_URL}"`, `scope="${RS_SCOPE}"`];
  let status = 401;
  let error;
  if (verdict.insufficientScope) {
    status = 403;
    error = 'insufficient_scope';
  } else if (verdict.presented) {
    error = 'invalid_token';
  }
  if (error) parts.push(`error="${error}"`, `error_description="${verdict.why.replace(/"/g, "'")}"`);
  sendJson(res, status, { error: error ?? 'unauthorized', error_description: verdict.why }, {
    'www-authenticate': `Bearer ${parts.join(', ')}`,
  });
}

function proxy(req, res, search) {
  const target = new URL(UPSTREAM);
  target.search = search;
  const headers = forwardable(req.headers, new Set(['authorization', 'host']));
  const up = http.request(target, { method: req.method, headers }, (upRes) => {
    res.writeHead(upRes.statusCode, forwardable(upRes.headers, new Set()));
    res.flushHeaders();
    // pipe() writes each chunk as it arrives: SSE events flow one by one.
    upRes.pipe(res);
    upRes.on('error', () => res.destroy());
  });
  up.on('error', (err) => {
    log('upstream error', err.message);
    if (!res.headersSent) sendJson(res, 502, { error: 'upstream unreachable', detail: err.message });
    else res.destroy();
  });
  // A client that goes away (e.g. closes its GET SSE stream) closes the upstream request too.
  res.on('close', () => { if (!res.writableFinished) up.destroy(); });
  req.pipe(up);
}

rsServer.on('request', async (req, res) => {
  const url = new URL(req.url, RS_ORIGIN);
  try {
    // The protected resource metadata is public: any origin may read it (a
    // browser-based client's discovery), as the MCP SDKs' metadata routers serve it.
    if (url.pathname === '/.well-known/oauth-protected-resource/mcp' && req.method === 'OPTIONS') {
      res.writeHead(204, {
        'access-control-allow-origin': '*',
        'access-control-allow-methods': 'GET, OPTIONS',
        'access-control-allow-headers': 'Content-Type, Authorization, MCP-Protocol-Version',
      });
      res.end();
      return;
    }
    if (url.pathname === '/.well-known/oauth-protected-resource/mcp' && req.method === 'GET') {
      sendJson(res, 200, {
        resource: MCP_URL,
        authorization_servers: [ISSUER],
        scopes_supported: [RS_SCOPE],
        bearer_methods_supported: ['header'],
      }, { 'access-control-allow-origin': '*' });
      return;
    }
    if (url.pathname === '/mcp') {
      const verdict = await checkBearer(req);
      log('RS', req.method, url.pathname, verdict.ok ? 'accepted' : `rejected: ${verdict.why}`);
      if (!verdict.ok) {
        req.resume();
        challenge(res, verdict);
        return;
      }
      stats.mcp.accepted += 1;
      proxy(req, res, url.search);
      return;
    }
    if (url.pathname === '/test/stats' && req.method === 'GET') {
      sendJson(res, 200, stats);
      return;
    }
    if (url.pathname === '/test/reset' && req.method === 'POST') {
      stats = freshStats();
      sendJson(res, 200, { ok: true });
      return;
    }
    if (url.pathname === '/test/cimd' && req.method === 'POST' && opts.cimd) {
      const doc = await readJson(req);
      if (typeof doc.client_id !== 'string') {
        sendJson(res, 400, { error: 'the document needs a client_id' });
        return;
      }
      cimdDocuments.set(doc.client_id, doc);
      sendJson(res, 200, { ok: true, client_id: doc.client_id });
      return;
    }
    if (url.pathname === '/test/device/approve' && req.method === 'POST' && opts['device-flow']) {
      const { user_code: userCode } = await readJson(req);
      await approveDevice(String(userCode ?? ''));
      sendJson(res, 200, { ok: true });
      return;
    }
    sendJson(res, 404, { error: 'not found' });
  } catch (err) {
    log('RS error', req.method, url.pathname, err);
    if (!res.headersSent) sendJson(res, 500, { error: err.message });
    else res.destroy();
  }
});

// ---------------------------------------------------------------- ready

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    log(`${signal}, exiting`);
    process.exit(0);
  });
}

log(`AS ${ISSUER}, RS ${MCP_URL} -> ${UPSTREAM.href}, access ttl ${ACCESS_TTL}s, refresh ttl ${REFRESH_TTL}s,`
  + ` registration ${!opts['no-registration']}, device flow ${opts['device-flow']}, cimd ${opts.cimd}`);
const q = JSON.stringify;
process.stdout.write(`{"issuer": ${q(ISSUER)}, "mcp": ${q(MCP_URL)}, "control": ${q(`${RS_ORIGIN}/test`)}}\n`);
