import { describe, expect, it } from 'vitest';
import type { DoctorReport } from '../src/api';
import { renderReport, verdict, worst } from '../src/doctor';
import { SAMPLE_REPORT } from '../src/fake';

// What `tether doctor http://127.0.0.1:9/mcp --json` prints.
const REFUSED: DoctorReport = {
  findings: [
    { breaks: [], example: null, fix: null, id: 'url.https', level: 'ok', saw: 'plain http to this computer (fine for local servers)', title: 'The URL is https' },
    { breaks: [], example: null, fix: null, id: 'net.dns', level: 'ok', saw: '127.0.0.1 → 127.0.0.1', title: 'The host name resolves' },
    {
      breaks: ['claude-connectors', 'claude-code', 'mcp-remote', 'tether'],
      example: null,
      fix: 'check that the server runs and that a firewall lets the port through',
      id: 'net.connect',
      level: 'error',
      saw: 'connecting to 127.0.0.1:9 failed: Connection refused (os error 111)',
      title: 'A connection opens',
    },
  ],
  summary: { errors: 1, ok: 2, skipped: 0, warnings: 0 },
  url: 'http://127.0.0.1:9/mcp',
};

describe('the doctor report', () => {
  it('says the verdict in words first', () => {
    expect(verdict(REFUSED)).toBe('1 error (2 ok)');
    expect(verdict(SAMPLE_REPORT('x'))).toBe('1 error, 1 warning (2 ok)');
    expect(verdict({ url: 'u', findings: [{ id: 'a', level: 'ok', title: 't', saw: '', breaks: [], fix: null, example: null }] })).toBe('All checks passed (1 ok)');
  });

  it('counts the levels itself when the summary is missing', () => {
    const { summary: _, ...bare } = REFUSED;
    expect(verdict(bare)).toBe('1 error (2 ok)');
    expect(worst(bare)).toBe('error');
  });

  it('shows the summary, then each check with its level, what it saw, the fix and the clients it breaks', () => {
    const el = renderReport(REFUSED);
    const summary = el.querySelector('#diagnose-summary')!;
    expect(summary.textContent).toContain('Error');
    expect(summary.textContent).toContain('1 error (2 ok)');
    expect(summary.textContent).toContain('http://127.0.0.1:9/mcp');
    expect(el.firstElementChild).toBe(summary);
    const items = [...el.querySelectorAll('li[data-finding]')];
    expect(items.map((i) => i.getAttribute('data-finding'))).toEqual(['url.https', 'net.dns', 'net.connect']);
    const bad = el.querySelector('[data-finding="net.connect"]')!;
    expect(bad.getAttribute('data-level')).toBe('error');
    expect(bad.textContent).toContain('Error');
    expect(bad.textContent).toContain('A connection opens');
    expect(bad.textContent).toContain('Connection refused');
    expect(bad.querySelector('.fix')!.textContent).toBe('check that the server runs and that a firewall lets the port through');
    expect(bad.querySelector('.breaks')!.textContent).toBe('Claude Desktop and claude.ai connectors, Claude Code, mcp-remote, Tether');
    const good = el.querySelector('[data-finding="url.https"]')!;
    expect(good.textContent).toContain('OK');
    expect(good.querySelector('.fix')).toBeNull();
    expect(good.querySelector('.breaks')).toBeNull();
  });

  it('names every client a finding can break, Cursor and VS Code among them', () => {
    const el = renderReport({
      url: 'u',
      findings: [{
        id: 'probe.token-accepted',
        level: 'error',
        title: 'The MCP server accepts the new access token',
        saw: 'HTTP 401 with the new access token',
        breaks: ['claude-connectors', 'claude-code', 'mcp-remote', 'tether', 'cursor', 'vscode'],
        fix: 'accept the authorization server\'s access tokens',
        example: null,
      }],
      summary: { ok: 0, warnings: 0, errors: 1, skipped: 0 },
    });
    expect(el.querySelector('.breaks')!.textContent).toBe('Claude Desktop and claude.ai connectors, Claude Code, mcp-remote, Tether, Cursor, VS Code');
  });

  it('tucks an example away in a disclosure', () => {
    const el = renderReport(SAMPLE_REPORT('https://tools.example.com/mcp'));
    const warn = el.querySelector('[data-finding="auth.challenge"]')!;
    expect(warn.textContent).toContain('Warning');
    expect(warn.querySelector('details summary')!.textContent).toBe('Example');
    expect(warn.querySelector('details pre')!.textContent).toContain('resource_metadata=');
  });

  it('never reads text as markup', () => {
    const el = renderReport({
      url: '<b>x</b>',
      findings: [{ id: 'a', level: 'error', title: '<img src=x onerror=alert(1)>', saw: '<i>', breaks: [], fix: null, example: null }],
      summary: { ok: 0, warnings: 0, errors: 1, skipped: 0 },
    });
    expect(el.querySelector('img')).toBeNull();
    expect(el.textContent).toContain('<img src=x onerror=alert(1)>');
  });
});
