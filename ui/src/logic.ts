// Pure functions: what the window says and checks, with no DOM and no Tauri.

import type { AddRequest, AuthKind, ClientRow, Probe, ServerRow, ServerState, SettingsView } from './api';

/** Unix seconds now. */
export function nowSecs(): number {
  return Math.floor(Date.now() / 1000);
}

/** Time left in a few words, as the tray says it (core `overview::remaining`). */
export function remaining(secs: number): string {
  if (secs < 60) return `${secs} s`;
  if (secs < 5400) return `${Math.floor(secs / 60)} min`;
  if (secs < 172_800) return `${Math.floor(secs / 3600)} h`;
  return `${Math.floor(secs / 86_400)} days`;
}

/** A message cut to `max` characters, with an ellipsis. */
export function short(message: string, max = 60): string {
  const chars = Array.from(message);
  return chars.length <= max ? message : `${chars.slice(0, max).join('')}…`;
}

/** The state in a few words, the same as the tray menu's
 * (core `overview::label`): "signed in, 47 min left", "needs sign-in",
 * "error: …". */
export function stateLabel(row: ServerState, now: number = nowSecs()): string {
  switch (row.state) {
    case 'ready':
      return 'ready';
    case 'signed-in':
      return row.expires_at != null && row.expires_at > now
        ? `signed in, ${remaining(row.expires_at - now)} left`
        : 'signed in';
    case 'needs-sign-in':
      return 'needs sign-in';
    case 'signing-in':
      return 'signing in…';
    case 'error':
      // An empty message still says something.
      return `error: ${short(row.message || 'the last connection failed')}`;
  }
}

/** A symbol that goes with the words (never meaning by colour alone). */
export function stateIcon(state: ServerRow['state']): string {
  switch (state) {
    case 'ready':
    case 'signed-in':
      return '✓';
    case 'needs-sign-in':
      return '!';
    case 'signing-in':
      return '…';
    case 'error':
      return '✕';
  }
}

export const AUTH_LABELS: Record<AuthKind, string> = {
  oauth: 'OAuth sign-in',
  bearer: 'Token (Bearer or API key)',
  none: 'No sign-in',
};

/** The buttons a server row offers, in order. */
export type Action = 'sign-in' | 'sign-out' | 'diagnose' | 'copy' | 'edit' | 'remove';

export function serverActions(row: Pick<ServerRow, 'auth' | 'state'>): Action[] {
  const out: Action[] = [];
  if (row.auth === 'oauth') {
    switch (row.state) {
      case 'signed-in':
      case 'ready':
        out.push('sign-out');
        break;
      case 'needs-sign-in':
      case 'signing-in':
        out.push('sign-in');
        break;
      case 'error':
        out.push('sign-in', 'sign-out');
        break;
    }
  } else if (row.auth === 'bearer' && row.state !== 'needs-sign-in') {
    // Signing out of a token server forgets the token.
    out.push('sign-out');
  }
  out.push('diagnose', 'copy', 'edit', 'remove');
  return out;
}

/** A date as the user's locale writes it. */
export function formatTime(unix: number): string {
  return new Date(unix * 1000).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

// ---------------------------------------------------------------- names

const NAME_MAX = 64;

/** Text made into a server name: lowercase, [a-z0-9-_], no leading dash. */
export function slug(text: string): string {
  return text
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[-_]+|[-_]+$/g, '')
    .slice(0, NAME_MAX)
    .replace(/-+$/, '');
}

const NOISE_LABELS = new Set(['mcp', 'www', 'api', 'app', 'server', 'servers']);
const TLDS = new Set(['com', 'org', 'net', 'io', 'ai', 'dev', 'app', 'co', 'cloud', 'sh', 'so', 'xyz', 'tech', 'run']);

function isIp(host: string): boolean {
  return /^[0-9.]+$/.test(host) || host.includes(':') || host.startsWith('[');
}

/** A name for the server at `url`: "https://mcp.linear.app/mcp" → "linear",
 * "http://127.0.0.1:3000/mcp" → "local-3000". Empty when `url` is not one. */
export function nameFromUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url.trim());
  } catch {
    return '';
  }
  const host = u.hostname.toLowerCase().replace(/\.$/, '');
  if (!host) return '';
  if (host === 'localhost' || host.endsWith('.localhost') || isIp(host)) {
    const loop = host === 'localhost' || host.startsWith('127.') || host === '[::1]' || host === '::1';
    const base = loop ? 'local' : slug(host.replace(/[.:[\]]+/g, '-'));
    return slug(u.port ? `${base}-${u.port}` : base);
  }
  let labels = host.split('.');
  if (labels.length > 1 && TLDS.has(labels[labels.length - 1])) labels = labels.slice(0, -1);
  const meaningful = labels.filter((l) => !NOISE_LABELS.has(l));
  const picked = meaningful.length ? meaningful : labels;
  return slug(picked.join('-'));
}

/** The name to suggest after a probe: the server's own name, else the host's. */
export function suggestName(url: string, probe: Pick<Probe, 'server_name'> | null): string {
  const own = probe?.server_name ? slug(probe.server_name) : '';
  return own || nameFromUrl(url);
}

/** Why `name` cannot be a server's name (core `servers::check_name`), or null. */
export function nameProblem(name: string, taken: string[] = []): string | null {
  if (!name) return 'Give the server a name.';
  if (name.length > NAME_MAX) return `The name is longer than ${NAME_MAX} characters.`;
  if (!/^[A-Za-z0-9_-]+$/.test(name)) return 'Use only letters, digits, "-" and "_" in the name.';
  if (name.startsWith('-')) return 'The name cannot start with "-".';
  if (taken.includes(name)) return `There is already a server named "${name}".`;
  return null;
}

// ---------------------------------------------------------------- URLs

/** Whether `host` (as URL.hostname gives it) is this computer: like core
 * `config::is_loopback`, IP literals and `localhost` itself, never a name
 * under `.localhost` (nothing makes a resolver keep it local). */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  return (
    h === 'localhost' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) ||
    h === '[::1]' ||
    h === '::1'
  );
}

/** Why `text` cannot be an MCP server's URL (https, or http to this
 * computer, like core `config::parse_url`), or null. */
export function serverUrlProblem(text: string): string | null {
  const t = text.trim();
  if (!t) return 'Paste the server’s URL.';
  let u: URL;
  try {
    u = new URL(t);
  } catch {
    return `"${short(t, 80)}" is not a URL; it should look like https://example.com/mcp.`;
  }
  if (u.protocol === 'https:') return u.hostname ? null : 'The URL has no host.';
  if (u.protocol === 'http:') {
    return isLoopbackHost(u.hostname)
      ? null
      : 'Use https: plain http is only for servers on this computer (localhost, 127.0.0.1).';
  }
  return `The URL must start with https:// (it starts with ${u.protocol}//).`;
}

/** Why the settings cannot be saved, by field, or an empty object. The
 * Client ID Metadata Document URL is not checked here: its rule is the
 * sign-in's, in Rust, and the Settings view asks the app
 * (`Backend.checkMetadataUrl`) so the two cannot disagree. */
export function settingsProblems(s: SettingsView): Partial<Record<keyof SettingsView, string>> {
  const out: Partial<Record<keyof SettingsView, string>> = {};
  if (s.log_level !== 'info' && s.log_level !== 'debug') out.log_level = 'Pick info or debug.';
  return out;
}

// ---------------------------------------------------------------- add

/** The auth kind to add a server with, from what the probe found. */
export function authFromProbe(kind: Probe['kind']): AuthKind {
  return kind === 'oauth' ? 'oauth' : kind === 'token' ? 'bearer' : 'none';
}

export const CLAUDE_DESKTOP = 'claude-desktop';

/** The clients ticked at first in "Add server": the ones Settings names, or
 * else every installed one; Claude Desktop always unless Settings says
 * otherwise. */
export function defaultClients(clients: ClientRow[], settings: Pick<SettingsView, 'clients'> | null): string[] {
  const known = new Set(clients.map((c) => c.id));
  if (settings && settings.clients.length) return settings.clients.filter((c) => known.has(c));
  const out = clients.filter((c) => c.installed).map((c) => c.id);
  if (known.has(CLAUDE_DESKTOP) && !out.includes(CLAUDE_DESKTOP)) out.unshift(CLAUDE_DESKTOP);
  return out;
}

export interface AddForm {
  url: string;
  name: string;
  auth: AuthKind;
  token: string;
  tokenHeader: string;
  clients: string[];
}

/** Problems with the add form, by field; empty when it can be sent.
 * `canKeepToken`: editing a server that has a token, which an empty token
 * field keeps. */
export function addProblems(f: AddForm, taken: string[] = [], canKeepToken = false): Partial<Record<keyof AddForm, string>> {
  const out: Partial<Record<keyof AddForm, string>> = {};
  const u = serverUrlProblem(f.url);
  if (u) out.url = u;
  const n = nameProblem(f.name.trim(), taken);
  if (n) out.name = n;
  if (f.auth === 'bearer') {
    if (!f.token.trim() && !canKeepToken) out.token = 'Paste the token (or API key) the server gave you.';
    const h = f.tokenHeader.trim();
    if (h && !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(h)) out.tokenHeader = 'A header name has no spaces or colons, like Authorization or X-API-Key.';
  }
  return out;
}

/** The `add_server` request for a valid form. `canKeepToken` as for
 * `addProblems`: an empty token then keeps the stored one. */
export function addRequest(f: AddForm, canKeepToken = false): AddRequest {
  const bearer = f.auth === 'bearer';
  const token = f.token.trim();
  const keep = bearer && canKeepToken && !token;
  return {
    name: f.name.trim(),
    url: f.url.trim(),
    auth: f.auth,
    token: bearer && !keep ? token : null,
    token_header: bearer ? f.tokenHeader.trim() || 'Authorization' : null,
    clients: f.clients,
    keep_token: keep,
  };
}

/** A client's name from its id. */
export function clientName(id: string, clients: Pick<ClientRow, 'id' | 'name'>[]): string {
  return clients.find((c) => c.id === id)?.name ?? id;
}

/** "a, b and c". */
export function joinWords(items: string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** What the wiped banner says. */
export function wipedMessage(missing: string[]): string {
  return `Claude Desktop rewrote its config and dropped ${plural(missing.length, 'server')}: ${joinWords(missing)}.`;
}

/** Import picks from the checked candidates' keys ("client:name"). */
export function picksFromKeys(keys: string[]): { client: string; name: string }[] {
  return keys.map((k) => {
    const i = k.indexOf(':');
    return { client: k.slice(0, i), name: k.slice(i + 1) };
  });
}

export function importKey(row: { client: string; name: string }): string {
  return `${row.client}:${row.name}`;
}
