// A backend with no Tauri behind it: for the tests, and for looking at the
// window in a browser (`npm run dev`, then open /?fake).

import type {
  AddRequest,
  Backend,
  ClientRow,
  Diagnosis,
  DoctorReport,
  ImportCandidate,
  ImportReport,
  InstallReport,
  NavigateTo,
  Pick,
  Probe,
  ServerRow,
  ServerState,
  SettingsView,
  Unlisten,
} from './api';

export interface FakeOptions {
  servers?: ServerRow[];
  clients?: ClientRow[];
  candidates?: ImportCandidate[];
  settings?: SettingsView;
  /** mcp-remote's token cache, as an import reports it left behind. */
  mcpAuthCache?: string | null;
  /** Probe answers by URL; others are "open", or fail when the host is "down". */
  probes?: Record<string, Probe>;
  /** Milliseconds each call takes (the preview uses a few hundred). */
  delay?: number;
  now?: () => number;
}

const SIDE = '/usr/lib/tether/tether';

export const FAKE_CLIENTS: ClientRow[] = [
  { id: 'claude-desktop', name: 'Claude Desktop', installed: true, path: '~/.config/Claude/claude_desktop_config.json', configured: [], http: [], headers_hook: false },
  { id: 'claude-code', name: 'Claude Code', installed: true, path: '~/.claude.json', configured: [], http: [], headers_hook: true },
  { id: 'cursor', name: 'Cursor', installed: false, path: '~/.cursor/mcp.json', configured: [], http: [], headers_hook: false },
  { id: 'vscode', name: 'VS Code', installed: false, path: '~/.config/Code/User/mcp.json', configured: [], http: [], headers_hook: false },
  { id: 'windsurf', name: 'Windsurf', installed: false, path: '~/.codeium/windsurf/mcp_config.json', configured: [], http: [], headers_hook: false },
  { id: 'zed', name: 'Zed', installed: false, path: '~/.config/zed/settings.json', configured: [], http: [], headers_hook: false },
  { id: 'cline', name: 'Cline', installed: false, path: null, configured: [], http: [], headers_hook: false },
];

export function sampleServers(now: number): ServerRow[] {
  return [
    {
      name: 'linear',
      url: 'https://mcp.linear.app/mcp',
      auth: 'oauth',
      token_header: null,
      state: 'signed-in',
      expires_at: now + 47 * 60 + 10,
      issuer: 'https://mcp.linear.app',
      scopes: 'read write',
      signed_in_at: now - 3600,
      last_error: null,
      modern_protocol: null,
      clients: ['claude-desktop', 'claude-code'],
    },
    {
      name: 'notion',
      url: 'https://mcp.notion.com/mcp',
      auth: 'oauth',
      token_header: null,
      state: 'needs-sign-in',
      issuer: null,
      scopes: null,
      signed_in_at: null,
      last_error: null,
      modern_protocol: '2026-07-28',
      clients: ['claude-desktop'],
    },
    {
      name: 'internal',
      url: 'https://tools.example.com/mcp',
      auth: 'bearer',
      token_header: null,
      state: 'error',
      message: 'tools.example.com answered HTTP 502 to initialize',
      issuer: null,
      scopes: null,
      signed_in_at: null,
      last_error: 'tools.example.com answered HTTP 502 to initialize',
      modern_protocol: null,
      clients: [],
    },
  ];
}

export const SAMPLE_CANDIDATES: ImportCandidate[] = [
  { client: 'claude-desktop', file: '~/.config/Claude/claude_desktop_config.json', name: 'github', server: 'github', url: 'https://api.githubcopilot.com/mcp/', token_header: 'Authorization', has_secret: true, ignored: [], problem: null },
  { client: 'cursor', file: '~/.cursor/mcp.json', name: 'sentry', server: 'sentry', url: 'https://mcp.sentry.dev/mcp', token_header: null, has_secret: false, ignored: [], problem: null },
];

/** What the double of `checkMetadataUrl` answers for a URL it refuses. */
export const FAKE_METADATA_URL_PROBLEM =
  'the client metadata URL must be https and have a path (e.g. https://example.com/tether/client.json)';

/** A test double of the sign-in's rule for a Client ID Metadata Document
 * URL, NOT the rule: the rule is `check_metadata_url` in
 * src-tauri/crates/tether/src/auth/registration.rs, which the real
 * `check_metadata_url` command and `set_settings` apply. This gives one
 * fixed sentence for a URL that does not start with https:// or has no
 * path, and null for empty (no URL), as the command does. */
function metadataUrlDouble(url: string): string | null {
  const u = url.trim();
  if (!u) return null;
  return /^https:\/\/[^/?#]+\/+[^/?#]/.test(u) ? null : FAKE_METADATA_URL_PROBLEM;
}

/** A row's fields that do not depend on its state. */
function fieldsOf(row: ServerRow): Omit<ServerRow, 'state'> {
  const { name, url, auth, token_header, issuer, scopes, signed_in_at, last_error, modern_protocol, clients } = row;
  return { name, url, auth, token_header, issuer, scopes, signed_in_at, last_error, modern_protocol, clients };
}

/** The row in another state, without the fields of the one it leaves
 * (`expires_at`, `message`). */
export function withState(row: ServerRow, state: ServerState): ServerRow {
  return { ...fieldsOf(row), ...state };
}

export const SAMPLE_REPORT = (url: string): DoctorReport => ({
  url,
  findings: [
    { id: 'url.https', level: 'ok', title: 'The URL is https', saw: 'https', breaks: [], fix: null, example: null },
    { id: 'net.dns', level: 'ok', title: 'The host name resolves', saw: 'tools.example.com → 203.0.113.7', breaks: [], fix: null, example: null },
    {
      id: 'auth.challenge',
      level: 'warning',
      title: 'The 401 names its resource metadata',
      saw: 'WWW-Authenticate: Bearer (no resource_metadata)',
      breaks: ['claude-connectors'],
      fix: 'add resource_metadata="https://tools.example.com/.well-known/oauth-protected-resource" to the challenge',
      example: 'WWW-Authenticate: Bearer resource_metadata="https://tools.example.com/.well-known/oauth-protected-resource"',
    },
    {
      id: 'transport.initialize',
      level: 'error',
      title: 'initialize answers',
      saw: 'HTTP 502 Bad Gateway',
      breaks: ['claude-connectors', 'claude-code', 'mcp-remote', 'tether'],
      fix: 'check the reverse proxy in front of the server',
      example: null,
    },
  ],
  summary: { ok: 2, skipped: 0, warnings: 1, errors: 1 },
});

/** A sample of the Markdown the core renders from a report
 * (`doctor::markdown`); the real one comes from the app. */
export const SAMPLE_MARKDOWN = (url: string): string =>
  `# \`tether doctor\` report for ${url}\n\n**1 error, 1 warning** (2 ok, 0 skipped)\n\n## MCP clients\n\n| Client | Works? | Why |\n|---|---|---|\n| Claude Code | ❌ breaks | \`transport.initialize\` |\n`;

type Handlers = {
  changed: Set<() => void>;
  wiped: Set<(missing: string[]) => void>;
  navigate: Set<(to: NavigateTo) => void>;
};

/** A backend that keeps everything in memory. Every method can be spied on
 * or replaced in tests; `emit*` fire the events the app would. */
export class FakeBackend implements Backend {
  servers: ServerRow[];
  clients: ClientRow[];
  candidates: ImportCandidate[];
  settings: SettingsView;
  mcpAuthCache: string | null;
  probes: Record<string, Probe>;
  tokens = new Map<string, string>();
  /** `client:server` of the HTTP entries (the others are stdio entries). */
  httpEntries = new Set<string>();
  clipboard: string | null = null;
  restarts = 0;
  delay: number;
  now: () => number;
  private handlers: Handlers = { changed: new Set(), wiped: new Set(), navigate: new Set() };

  constructor(opts: FakeOptions = {}) {
    this.now = opts.now ?? (() => Math.floor(Date.now() / 1000));
    this.servers = opts.servers ?? [];
    this.clients = opts.clients ?? FAKE_CLIENTS.map((c) => ({ ...c }));
    this.candidates = opts.candidates ?? [];
    this.mcpAuthCache = opts.mcpAuthCache ?? null;
    this.settings = opts.settings ?? { clients: [], client_metadata_url: null, start_at_login: false, log_level: 'info' };
    this.probes = opts.probes ?? {};
    this.delay = opts.delay ?? 0;
  }

  private async wait(): Promise<void> {
    if (this.delay) await new Promise((r) => setTimeout(r, this.delay));
  }

  private find(name: string): ServerRow {
    const s = this.servers.find((x) => x.name === name);
    if (!s) throw `no server named "${name}"`;
    return s;
  }

  /** Changes a server's fields, and its state when `state` is given. */
  private update(name: string, patch: Partial<Omit<ServerRow, 'state'>>, state?: ServerState): void {
    this.servers = this.servers.map((s) => {
      if (s.name !== name) return s;
      const row: ServerRow = { ...s, ...patch };
      return state ? withState(row, state) : row;
    });
    this.emitServersChanged();
  }

  async listServers(): Promise<ServerRow[]> {
    await this.wait();
    return this.servers.map((s) => ({ ...s, clients: [...s.clients] }));
  }

  async probeServer(url: string): Promise<Probe> {
    await this.wait();
    const known = this.probes[url.trim()];
    if (known) return known;
    let u: URL;
    try {
      u = new URL(url.trim());
    } catch {
      throw `"${url}" is not a URL`;
    }
    if (u.hostname.startsWith('down')) throw `cannot reach ${u.href}: connection refused`;
    if (u.hostname.includes('oauth') || u.hostname.startsWith('mcp.')) {
      return { kind: 'oauth', server_name: null, issuer: `${u.origin}/`, legacy_sse: false, summary: `Signs in with OAuth at ${u.origin}/` };
    }
    if (u.hostname.includes('token')) {
      return { kind: 'token', server_name: null, issuer: null, legacy_sse: false, summary: 'Needs a token (it answers 401 and publishes no OAuth metadata)' };
    }
    return { kind: 'open', server_name: 'Demo Server', issuer: null, legacy_sse: false, summary: 'Demo Server answers without sign-in' };
  }

  /** Adds a server, or changes the one with that name (like `tether add`):
   * a token server keeps its stored token with `keep_token` and no token. */
  async addServer(r: AddRequest): Promise<InstallReport> {
    await this.wait();
    const existing = this.servers.find((s) => s.name === r.name);
    const token = r.auth === 'bearer' ? r.token?.trim() || null : null;
    if (r.auth === 'bearer' && !token) {
      if (!r.keep_token) throw 'the token is empty';
      if (existing?.auth !== 'bearer') throw `${r.name} has no token to keep: it is not a server with a token yet; give the token`;
    }
    if (r.auth === 'bearer') {
      if (token) this.tokens.set(r.name, r.token ?? '');
    } else {
      this.tokens.delete(r.name);
    }
    const result: InstallReport = { installed: [], errors: [] };
    for (const c of r.clients) {
      const client = this.clients.find((x) => x.id === c);
      if (!client) result.errors.push({ client: c, message: `unknown client "${c}"` });
      else if (!client.path) result.errors.push({ client: c, message: `${client.name} is not installed` });
      else result.installed.push({ client: c, path: client.path });
    }
    const installed = result.installed.map((i) => i.client);
    // add_server only writes entries: the ones already there stay.
    const clients = [...(existing?.clients ?? []), ...installed.filter((c) => !existing?.clients.includes(c))];
    const sameSignIn = existing && existing.auth === r.auth && existing.url === r.url && !token;
    const tokenHeader = r.auth === 'bearer' ? r.token_header : null;
    const row: ServerRow = sameSignIn
      ? { ...existing, token_header: tokenHeader, clients }
      : {
          name: r.name,
          url: r.url,
          auth: r.auth,
          token_header: tokenHeader,
          state: r.auth === 'oauth' ? 'needs-sign-in' : 'ready',
          issuer: null,
          scopes: null,
          signed_in_at: null,
          last_error: null,
          modern_protocol: null,
          clients,
        };
    this.servers = existing ? this.servers.map((s) => (s.name === r.name ? row : s)) : [...this.servers, row];
    this.emitServersChanged();
    return result;
  }

  async removeServer(name: string): Promise<void> {
    await this.wait();
    this.find(name);
    this.servers = this.servers.filter((s) => s.name !== name);
    this.tokens.delete(name);
    this.emitServersChanged();
  }

  async signIn(name: string): Promise<void> {
    const s = this.find(name);
    this.update(name, {}, { state: 'signing-in' });
    await this.wait();
    await this.wait();
    if (s.url.includes('fail')) {
      this.update(name, {}, { state: 'needs-sign-in' });
      throw 'the sign-in was cancelled in the browser';
    }
    const now = this.now();
    this.update(
      name,
      { signed_in_at: now, issuer: s.issuer ?? new URL(s.url).origin, scopes: 'mcp' },
      { state: 'signed-in', expires_at: now + 3600 },
    );
  }

  async signOut(name: string): Promise<void> {
    await this.wait();
    const s = this.find(name);
    this.update(name, { signed_in_at: null, scopes: null }, { state: s.auth === 'none' ? 'ready' : 'needs-sign-in' });
  }

  async listClients(): Promise<ClientRow[]> {
    await this.wait();
    return this.clients.map((c) => {
      const configured = this.servers.filter((s) => s.clients.includes(c.id)).map((s) => s.name);
      return { ...c, configured, http: configured.filter((n) => this.httpEntries.has(`${c.id}:${n}`)) };
    });
  }

  async installEntry(name: string, client: string): Promise<InstallReport> {
    await this.wait();
    const s = this.find(name);
    this.httpEntries.delete(`${client}:${name}`);
    if (!s.clients.includes(client)) this.update(name, { clients: [...s.clients, client] });
    const c = this.clients.find((x) => x.id === client);
    return { installed: [{ client, path: c?.path ?? '' }], errors: [] };
  }

  async installHttpEntry(name: string, client: string): Promise<InstallReport> {
    await this.wait();
    const s = this.find(name);
    const c = this.clients.find((x) => x.id === client);
    if (!c?.headers_hook) {
      return { installed: [], errors: [{ client, message: `${c?.name ?? client} cannot run a program for a server's headers (it reads them as text only)` }] };
    }
    this.httpEntries.add(`${client}:${name}`);
    if (!s.clients.includes(client)) this.update(name, { clients: [...s.clients, client] });
    else this.emitServersChanged();
    return { installed: [{ client, path: c.path ?? '' }], errors: [] };
  }

  async uninstallEntry(name: string, client: string): Promise<void> {
    await this.wait();
    const s = this.find(name);
    this.httpEntries.delete(`${client}:${name}`);
    this.update(name, { clients: s.clients.filter((c) => c !== client) });
  }

  async setUpClient(client: string): Promise<InstallReport> {
    await this.wait();
    const c = this.clients.find((x) => x.id === client);
    const result: InstallReport = { installed: [], errors: [] };
    for (const s of this.servers) {
      if (!s.clients.includes(client)) s.clients = [...s.clients, client];
      result.installed.push({ client, path: c?.path ?? '' });
    }
    this.emitServersChanged();
    return result;
  }

  async importCandidates(): Promise<ImportCandidate[]> {
    await this.wait();
    return this.candidates.map((c) => ({ ...c }));
  }

  async importServers(picks: Pick[]): Promise<ImportReport> {
    await this.wait();
    const out: ImportReport = { imported: [], errors: [] };
    for (const p of picks) {
      const c = this.candidates.find((x) => x.client === p.client && x.name === p.name);
      if (!c) {
        out.errors.push({ name: p.name, message: 'no such mcp-remote entry' });
        continue;
      }
      if (c.problem) {
        out.errors.push({ name: p.name, message: c.problem });
        continue;
      }
      if (this.servers.some((s) => s.name === c.server)) {
        out.errors.push({ name: p.name, message: `a server named "${c.server}" already exists` });
        continue;
      }
      this.servers.push({
        name: c.server,
        url: c.url,
        auth: c.has_secret ? 'bearer' : 'oauth',
        token_header: c.has_secret ? c.token_header : null,
        state: c.has_secret ? 'ready' : 'needs-sign-in',
        issuer: null,
        scopes: null,
        signed_in_at: null,
        last_error: null,
        modern_protocol: null,
        clients: [c.client],
      });
      out.imported.push(c.server);
    }
    this.candidates = this.candidates.filter((c) => !out.imported.includes(c.server));
    if (out.imported.length && this.mcpAuthCache) out.mcp_auth_cache = this.mcpAuthCache;
    this.emitServersChanged();
    return out;
  }

  async deleteMcpAuthCache(): Promise<string | null> {
    await this.wait();
    const gone = this.mcpAuthCache;
    this.mcpAuthCache = null;
    return gone;
  }

  async getSettings(): Promise<SettingsView> {
    await this.wait();
    return { ...this.settings, clients: [...this.settings.clients] };
  }

  /** Refuses what `checkMetadataUrl` refuses, as `set_settings` does. */
  async setSettings(settings: SettingsView): Promise<void> {
    await this.wait();
    const problem = metadataUrlDouble(settings.client_metadata_url ?? '');
    if (problem) throw problem;
    this.settings = { ...settings, clients: [...settings.clients] };
  }

  async checkMetadataUrl(url: string): Promise<string | null> {
    await this.wait();
    return metadataUrlDouble(url);
  }

  async readLogs(name: string | null): Promise<string> {
    await this.wait();
    const who = name ?? 'app';
    return [
      `2025-01-01T10:00:00Z INFO ${who}: started`,
      `2025-01-01T10:00:01Z INFO ${who}: watching for changes`,
      `2025-01-01T10:05:00Z DEBUG ${who}: nothing to do`,
    ].join('\n');
  }

  async restartClaudeDesktop(): Promise<void> {
    await this.wait();
    this.restarts++;
  }

  async copyEntry(name: string): Promise<string> {
    await this.wait();
    this.find(name);
    return JSON.stringify({ [name]: { command: SIDE, args: ['run', name] } }, null, 2);
  }

  async diagnose(target: string): Promise<Diagnosis> {
    await this.wait();
    const s = this.servers.find((x) => x.name === target);
    const url = s ? s.url : target;
    return { report: SAMPLE_REPORT(url), markdown: SAMPLE_MARKDOWN(url) };
  }

  async writeClipboard(text: string): Promise<void> {
    this.clipboard = text;
  }

  async onServersChanged(handler: () => void): Promise<Unlisten> {
    this.handlers.changed.add(handler);
    return () => this.handlers.changed.delete(handler);
  }

  async onClaudeConfigWiped(handler: (missing: string[]) => void): Promise<Unlisten> {
    this.handlers.wiped.add(handler);
    return () => this.handlers.wiped.delete(handler);
  }

  async onNavigate(handler: (to: NavigateTo) => void): Promise<Unlisten> {
    this.handlers.navigate.add(handler);
    return () => this.handlers.navigate.delete(handler);
  }

  emitServersChanged(): void {
    for (const h of this.handlers.changed) h();
  }

  emitWiped(missing: string[]): void {
    for (const h of this.handlers.wiped) h(missing);
  }

  emitNavigate(to: NavigateTo): void {
    for (const h of this.handlers.navigate) h(to);
  }
}

/** The fake with sample data, for the browser preview. */
export function previewBackend(): FakeBackend {
  const now = Math.floor(Date.now() / 1000);
  const params = new URLSearchParams(location.search);
  const empty = params.get('fake') === 'empty';
  const fake = new FakeBackend({
    servers: empty ? [] : sampleServers(now),
    candidates: SAMPLE_CANDIDATES.map((c) => ({ ...c })),
    delay: 300,
  });
  if (params.has('wiped')) setTimeout(() => fake.emitWiped(['linear', 'notion']), 500);
  return fake;
}
