import { describe, expect, it } from 'vitest';
import type { ClientRow, LogLevel } from '../src/api';
import {
  addProblems,
  addRequest,
  authFromProbe,
  defaultClients,
  nameFromUrl,
  nameProblem,
  picksFromKeys,
  remaining,
  serverActions,
  serverUrlProblem,
  settingsProblems,
  slug,
  stateLabel,
  suggestName,
  wipedMessage,
  type AddForm,
} from '../src/logic';

const NOW = 1_000_000;

describe('state labels', () => {
  it('says how long a sign-in has left, like the tray', () => {
    expect(stateLabel({ state: 'signed-in', expires_at: NOW + 47 * 60 }, NOW)).toBe('signed in, 47 min left');
    expect(stateLabel({ state: 'signed-in', expires_at: NOW + 3 * 3600 }, NOW)).toBe('signed in, 3 h left');
    expect(stateLabel({ state: 'signed-in', expires_at: NOW + 30 }, NOW)).toBe('signed in, 30 s left');
    expect(stateLabel({ state: 'signed-in', expires_at: NOW + 5 * 86_400 }, NOW)).toBe('signed in, 5 days left');
  });

  it('says just "signed in" when the expiry is past or unknown', () => {
    expect(stateLabel({ state: 'signed-in', expires_at: NOW - 1 }, NOW)).toBe('signed in');
    // (A signed-in state always carries `expires_at`, null when unknown: the
    // case with it absent is gone with the generated type. Expiring this
    // very second counts as past.)
    expect(stateLabel({ state: 'signed-in', expires_at: NOW }, NOW)).toBe('signed in');
    expect(stateLabel({ state: 'signed-in', expires_at: null }, NOW)).toBe('signed in');
  });

  it('names every other state in a few words', () => {
    expect(stateLabel({ state: 'ready' }, NOW)).toBe('ready');
    expect(stateLabel({ state: 'needs-sign-in' }, NOW)).toBe('needs sign-in');
    expect(stateLabel({ state: 'signing-in' }, NOW)).toBe('signing in…');
    expect(stateLabel({ state: 'error', message: 'refused' }, NOW)).toBe('error: refused');
  });

  it('cuts a long error message to 60 characters', () => {
    const label = stateLabel({ state: 'error', message: 'x'.repeat(100) }, NOW);
    expect(Array.from(label)).toHaveLength('error: '.length + 61);
    expect(label.endsWith('…')).toBe(true);
  });

  it('rounds the time left down at the same thresholds as the core', () => {
    expect(remaining(59)).toBe('59 s');
    expect(remaining(60)).toBe('1 min');
    expect(remaining(5399)).toBe('89 min');
    expect(remaining(5400)).toBe('1 h');
    expect(remaining(172_799)).toBe('47 h');
    expect(remaining(172_800)).toBe('2 days');
  });
});

describe('server actions', () => {
  it('offers sign in or sign out by state, then diagnose, copy and remove', () => {
    expect(serverActions({ auth: 'oauth', state: 'needs-sign-in' })).toEqual(['sign-in', 'diagnose', 'copy', 'edit', 'remove']);
    expect(serverActions({ auth: 'oauth', state: 'signed-in' })).toEqual(['sign-out', 'diagnose', 'copy', 'edit', 'remove']);
    expect(serverActions({ auth: 'oauth', state: 'error' })).toEqual(['sign-in', 'sign-out', 'diagnose', 'copy', 'edit', 'remove']);
    expect(serverActions({ auth: 'none', state: 'ready' })).toEqual(['diagnose', 'copy', 'edit', 'remove']);
  });
});

describe('names from URLs', () => {
  it('takes the meaningful part of the host', () => {
    expect(nameFromUrl('https://mcp.linear.app/mcp')).toBe('linear');
    expect(nameFromUrl('https://mcp.notion.com/mcp')).toBe('notion');
    expect(nameFromUrl('https://api.githubcopilot.com/mcp/')).toBe('githubcopilot');
    expect(nameFromUrl('https://tools.Example.COM/mcp')).toBe('tools-example');
    expect(nameFromUrl('https://mcp.sentry.dev/mcp')).toBe('sentry');
  });

  it('names a server on this computer after its port', () => {
    expect(nameFromUrl('http://127.0.0.1:3000/mcp')).toBe('local-3000');
    expect(nameFromUrl('http://localhost:8080/mcp')).toBe('local-8080');
    expect(nameFromUrl('http://[::1]:9000/mcp')).toBe('local-9000');
  });

  it('gives nothing for what is not a URL', () => {
    expect(nameFromUrl('not a url')).toBe('');
    expect(nameFromUrl('')).toBe('');
  });

  it('prefers the name the server gave, made lowercase and safe', () => {
    expect(suggestName('https://mcp.linear.app/mcp', { server_name: 'Linear MCP Server' })).toBe('linear-mcp-server');
    expect(suggestName('https://mcp.linear.app/mcp', { server_name: 'Ünïcode Tools!' })).toBe('unicode-tools');
    expect(suggestName('https://mcp.linear.app/mcp', { server_name: '***' })).toBe('linear');
    expect(suggestName('https://mcp.linear.app/mcp', null)).toBe('linear');
  });

  it('makes every suggestion a valid server name', () => {
    for (const text of ['A b c', '--x--', 'x'.repeat(200), 'ok_name', 'Dots.and.more']) {
      const s = slug(text);
      expect(nameProblem(s)).toBeNull();
    }
  });

  it('checks names like the core does', () => {
    expect(nameProblem('')).toMatch(/name/);
    expect(nameProblem('has space')).toMatch(/letters, digits/);
    expect(nameProblem('-x')).toMatch(/start/);
    expect(nameProblem('x'.repeat(65))).toMatch(/64/);
    expect(nameProblem('linear', ['linear'])).toMatch(/already/);
    expect(nameProblem('My_Server-2')).toBeNull();
  });
});

describe('URL validation', () => {
  it('accepts https anywhere and plain http only to this computer', () => {
    expect(serverUrlProblem('https://mcp.linear.app/mcp')).toBeNull();
    expect(serverUrlProblem('  https://mcp.linear.app/mcp  ')).toBeNull();
    expect(serverUrlProblem('http://127.0.0.1:3000/mcp')).toBeNull();
    expect(serverUrlProblem('http://localhost:3000/mcp')).toBeNull();
    expect(serverUrlProblem('http://[::1]:3000/mcp')).toBeNull();
    expect(serverUrlProblem('http://app.localhost/mcp')).toMatch(/https/);
    expect(serverUrlProblem('http://example.com/mcp')).toMatch(/https/);
    expect(serverUrlProblem('http://127.evil.com/mcp')).toMatch(/https/);
  });

  it('refuses what is not a URL or another scheme', () => {
    expect(serverUrlProblem('')).toMatch(/Paste/);
    expect(serverUrlProblem('mcp.linear.app')).toMatch(/not a URL/);
    expect(serverUrlProblem('ftp://example.com/mcp')).toMatch(/https/);
  });

  it('validates the settings by field', () => {
    const ok = { clients: [], client_metadata_url: null, start_at_login: false, log_level: 'info' as const };
    expect(settingsProblems(ok)).toEqual({});
    // A level outside the type (only a cast makes one): the check keeps it from being sent.
    expect(settingsProblems({ ...ok, log_level: 'trace' as LogLevel })).toHaveProperty('log_level');
  });

  it('leaves the Client ID Metadata Document URL to the app, whose rule the sign-in applies', () => {
    // The Settings view asks `checkMetadataUrl` (see app.test.ts, "settings").
    const ok = { clients: [], client_metadata_url: null, start_at_login: false, log_level: 'info' as const };
    expect(settingsProblems({ ...ok, client_metadata_url: 'http://x.example/a' })).toEqual({});
  });
});

describe('the add form', () => {
  const form = (over: Partial<AddForm> = {}): AddForm => ({
    url: 'https://mcp.example.com/mcp',
    name: 'example',
    auth: 'oauth',
    token: '',
    tokenHeader: 'Authorization',
    clients: ['claude-desktop'],
    ...over,
  });

  it('needs a token for a bearer server, and only for one', () => {
    expect(addProblems(form({ auth: 'bearer' }))).toHaveProperty('token');
    expect(addProblems(form({ auth: 'bearer', token: '   ' }))).toHaveProperty('token');
    expect(addProblems(form({ auth: 'bearer', token: 'sk-1' }))).toEqual({});
    expect(addProblems(form({ auth: 'oauth' }))).toEqual({});
    expect(addProblems(form({ auth: 'none' }))).toEqual({});
  });

  it('refuses a header name with a colon or a space', () => {
    expect(addProblems(form({ auth: 'bearer', token: 't', tokenHeader: 'X-API-Key:' }))).toHaveProperty('tokenHeader');
    expect(addProblems(form({ auth: 'bearer', token: 't', tokenHeader: 'X API' }))).toHaveProperty('tokenHeader');
    expect(addProblems(form({ auth: 'bearer', token: 't', tokenHeader: 'X-API-Key' }))).toEqual({});
  });

  it('sends the token and header only for bearer, trimmed', () => {
    expect(addRequest(form({ auth: 'bearer', token: ' sk ', tokenHeader: '' }))).toEqual({
      name: 'example', url: 'https://mcp.example.com/mcp', auth: 'bearer', token: 'sk', token_header: 'Authorization', clients: ['claude-desktop'], keep_token: false,
    });
    expect(addRequest(form({ token: 'leftover' }))).toMatchObject({ auth: 'oauth', token: null, token_header: null, keep_token: false });
  });

  it('lets an edited token server keep its token when the field is left empty', () => {
    expect(addProblems(form({ auth: 'bearer', token: '' }), [], true)).toEqual({});
    expect(addRequest(form({ auth: 'bearer', token: '  ' }), true)).toMatchObject({ token: null, keep_token: true });
    expect(addRequest(form({ auth: 'bearer', token: ' sk-new ' }), true)).toMatchObject({ token: 'sk-new', keep_token: false });
    expect(addRequest(form({ auth: 'oauth' }), true)).toMatchObject({ token: null, keep_token: false });
  });

  it('maps the probe kind to the auth kind', () => {
    expect(authFromProbe('oauth')).toBe('oauth');
    expect(authFromProbe('token')).toBe('bearer');
    expect(authFromProbe('open')).toBe('none');
  });

  it('ticks Claude Desktop and the installed clients, unless Settings names others', () => {
    const clients: ClientRow[] = [
      { id: 'claude-desktop', name: 'Claude Desktop', installed: false, path: null, configured: [], http: [], headers_hook: false },
      { id: 'cursor', name: 'Cursor', installed: true, path: null, configured: [], http: [], headers_hook: false },
      { id: 'zed', name: 'Zed', installed: false, path: null, configured: [], http: [], headers_hook: false },
    ];
    expect(defaultClients(clients, null)).toEqual(['claude-desktop', 'cursor']);
    expect(defaultClients(clients, { clients: [] })).toEqual(['claude-desktop', 'cursor']);
    expect(defaultClients(clients, { clients: ['zed', 'unknown'] })).toEqual(['zed']);
  });
});

describe('small words', () => {
  it('says how many servers the wiped config dropped', () => {
    expect(wipedMessage(['a'])).toBe('Claude Desktop rewrote its config and dropped 1 server: a.');
    expect(wipedMessage(['a', 'b', 'c'])).toBe('Claude Desktop rewrote its config and dropped 3 servers: a, b and c.');
  });

  it('turns checkbox values back into import picks', () => {
    expect(picksFromKeys(['claude-desktop:github', 'cursor:a:b'])).toEqual([
      { client: 'claude-desktop', name: 'github' },
      { client: 'cursor', name: 'a:b' },
    ]);
  });
});
