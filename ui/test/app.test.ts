import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { App, parseHash, startApp } from '../src/app';
import { FakeBackend, SAMPLE_CANDIDATES, SAMPLE_MARKDOWN, sampleServers, withState } from '../src/fake';

const NOW = 1_700_000_000;
let app: App | null = null;

function $(sel: string): HTMLElement {
  const el = document.querySelector<HTMLElement>(sel);
  if (!el) throw new Error(`no ${sel}`);
  return el;
}
const $input = (sel: string) => $(sel) as HTMLInputElement;
const click = (sel: string) => $(sel).click();
function type(sel: string, value: string): void {
  const i = $input(sel);
  i.value = value;
  i.dispatchEvent(new Event('input', { bubbles: true }));
}
function row(name: string): HTMLElement {
  return $(`[data-server="${name}"]`);
}
const status = () => $('#status').textContent ?? '';
const settle = () => new Promise((r) => setTimeout(r, 0));

async function start(fake: FakeBackend, hash = ''): Promise<App> {
  history.replaceState(null, '', hash ? `#${hash}` : location.pathname);
  document.body.innerHTML = '<div id="app"></div>';
  app = await startApp($('#app'), fake, { now: () => NOW, tick: 0, statusMs: 0 });
  await settle();
  return app;
}

/** A fake whose sign-in waits until the test says. */
function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

beforeEach(() => {
  app = null;
});
afterEach(() => {
  app?.stop();
  vi.restoreAllMocks();
});

describe('navigation', () => {
  it('shows one view at a time and marks its nav button as current', async () => {
    await start(new FakeBackend());
    expect($('#view-servers').hidden).toBe(false);
    expect($('#nav-servers').getAttribute('aria-current')).toBe('page');
    click('#nav-settings');
    expect($('#view-servers').hidden).toBe(true);
    expect($('#view-settings').hidden).toBe(false);
    expect($('#nav-settings').getAttribute('aria-current')).toBe('page');
    expect($('#nav-servers').hasAttribute('aria-current')).toBe(false);
    expect(document.activeElement).toBe($('#settings-title'));
    expect(location.hash).toBe('#settings');
  });

  it('opens the view the tray names in the location hash', async () => {
    await start(new FakeBackend(), 'add');
    expect($('#view-add').hidden).toBe(false);
    expect(parseHash('#diagnose=my%20server')).toEqual({ view: 'diagnose', target: 'my server' });
    expect(parseHash('#nonsense')).toEqual({ view: 'servers' });
  });

  it('follows the navigate event from the tray, including diagnose', async () => {
    const fake = new FakeBackend({ servers: sampleServers(NOW) });
    await start(fake);
    fake.emitNavigate('add');
    expect($('#view-add').hidden).toBe(false);
    fake.emitNavigate({ diagnose: 'internal' });
    expect($('#view-diagnose').hidden).toBe(false);
    await vi.waitFor(() => expect($('#diagnose-summary').textContent).toContain('1 error, 1 warning'));
    expect($('#diagnose-title').textContent).toBe('Diagnose internal');
    click('#diagnose-back');
    expect($('#view-servers').hidden).toBe(false);
  });

  it('copies the diagnosis as Markdown, and shows it to copy by hand when the clipboard fails', async () => {
    const fake = new FakeBackend({ servers: sampleServers(NOW) });
    await start(fake);
    fake.emitNavigate({ diagnose: 'internal' });
    expect(($('#diagnose-copy') as HTMLButtonElement).disabled).toBe(true);
    await vi.waitFor(() => expect(($('#diagnose-copy') as HTMLButtonElement).disabled).toBe(false));
    const url = sampleServers(NOW).find((s) => s.name === 'internal')!.url;
    click('#diagnose-copy');
    await vi.waitFor(() => expect($('#diagnose-copied').hidden).toBe(false));
    expect(fake.clipboard).toBe(SAMPLE_MARKDOWN(url));
    expect(fake.clipboard).toContain(`# \`tether doctor\` report for ${url}`);
    expect($('#diagnose-copied').textContent).toContain('Report copied as Markdown');
    expect($('#diagnose-markdown').hidden).toBe(true);

    vi.spyOn(fake, 'writeClipboard').mockRejectedValue(new Error('no clipboard'));
    click('#diagnose-copy');
    await vi.waitFor(() => expect($('#diagnose-markdown').hidden).toBe(false));
    expect(($('#diagnose-markdown') as HTMLTextAreaElement).value).toBe(SAMPLE_MARKDOWN(url));
    expect($('#diagnose-copied').textContent).toContain('press Ctrl+C');

    // Checking again starts from nothing to copy.
    click('#diagnose-again');
    expect(($('#diagnose-copy') as HTMLButtonElement).disabled).toBe(true);
    expect($('#diagnose-markdown').hidden).toBe(true);
    expect($('#diagnose-copied').hidden).toBe(true);
    await vi.waitFor(() => expect(($('#diagnose-copy') as HTMLButtonElement).disabled).toBe(false));
  });

  it('says status changes in a polite live region that clears itself', async () => {
    document.body.innerHTML = '<div id="app"></div>';
    app = await startApp($('#app'), new FakeBackend(), { now: () => NOW, tick: 0, statusMs: 30 });
    expect($('#status').getAttribute('aria-live')).toBe('polite');
    app.announce('Saved.');
    expect(status()).toBe('Saved.');
    await new Promise((r) => setTimeout(r, 60));
    expect(status()).toBe('');
  });

  it('has a label for every input', async () => {
    await start(new FakeBackend({ servers: sampleServers(NOW), candidates: SAMPLE_CANDIDATES }));
    click('#nav-add');
    click('#add-check');
    await settle();
    for (const input of document.querySelectorAll<HTMLInputElement>('input, select, textarea')) {
      const labelled = input.id && document.querySelector(`label[for="${input.id}"]`);
      expect(labelled || input.getAttribute('aria-label') || input.getAttribute('aria-labelledby'), input.outerHTML).toBeTruthy();
    }
  });
});

describe('the servers view', () => {
  it('invites to add the first server when there is none', async () => {
    await start(new FakeBackend());
    expect($('#servers-empty').textContent).toContain('No servers yet');
    click('#empty-add');
    expect($('#view-add').hidden).toBe(false);
    expect(document.activeElement).toBe($('#add-title'));
  });

  it('shows each server with its state in words, issuer, scopes and clients', async () => {
    await start(new FakeBackend({ servers: sampleServers(NOW) }));
    const linear = row('linear');
    expect(linear.dataset.state).toBe('signed-in');
    expect(linear.querySelector('.state')!.textContent).toContain('signed in, 47 min left');
    expect(linear.textContent).toContain('https://mcp.linear.app');
    expect(linear.textContent).toContain('read write');
    expect(linear.textContent).toContain('Claude Desktop and Claude Code');
    expect(row('notion').dataset.state).toBe('needs-sign-in');
    expect(row('notion').textContent).toContain('2026-07-28 (translated for Claude)');
    expect(row('linear').textContent).not.toContain('translated for Claude');
    expect(row('notion').querySelector('.state')!.textContent).toContain('needs sign-in');
    expect(row('internal').querySelector('.state')!.textContent).toContain('error: tools.example.com answered HTTP 502');
    expect(row('internal').textContent).toContain('no MCP client yet');
  });

  it('offers sign in or sign out by state', async () => {
    await start(new FakeBackend({ servers: sampleServers(NOW) }));
    const actions = (n: string) => [...row(n).querySelectorAll<HTMLElement>('.actions [data-action]')].map((b) => b.dataset.action);
    expect(actions('linear')).toEqual(['sign-out', 'diagnose', 'copy', 'edit', 'remove']);
    expect(actions('notion')).toEqual(['sign-in', 'diagnose', 'copy', 'edit', 'remove']);
  });

  it('says "Waiting for the browser…" while a sign-in runs, then shows the new state', async () => {
    const fake = new FakeBackend({ servers: sampleServers(NOW), now: () => NOW });
    const gate = deferred();
    const real = fake.signIn.bind(fake);
    vi.spyOn(fake, 'signIn').mockImplementation(async (name) => {
      await gate.promise;
      return real(name);
    });
    await start(fake);
    (row('notion').querySelector('[data-action="sign-in"]') as HTMLElement).click();
    await settle();
    expect(row('notion').textContent).toContain('Waiting for the browser…');
    expect(status()).toContain('Waiting for the browser…');
    expect(row('notion').querySelector('[data-action="sign-in"]')!.getAttribute('aria-disabled')).toBe('true');
    gate.resolve();
    await vi.waitFor(() => expect(row('notion').dataset.state).toBe('signed-in'));
    expect(row('notion').querySelector('.state')!.textContent).toContain('signed in, 60 min left');
    expect(row('notion').textContent).not.toContain('Waiting for the browser');
    expect(status()).toBe('Signed in to notion.');
    expect(fake.signIn).toHaveBeenCalledWith('notion');
  });

  it('shows a failed sign-in next to the server', async () => {
    const fake = new FakeBackend({ servers: sampleServers(NOW) });
    vi.spyOn(fake, 'signIn').mockRejectedValue('the browser was closed');
    await start(fake);
    (row('notion').querySelector('[data-action="sign-in"]') as HTMLElement).click();
    await vi.waitFor(() => expect(row('notion').querySelector('[role="alert"]')!.textContent).toBe('the browser was closed'));
  });

  it('refreshes live when the servers change', async () => {
    const fake = new FakeBackend({ servers: sampleServers(NOW) });
    await start(fake);
    const spy = vi.spyOn(fake, 'listServers');
    fake.servers = fake.servers.map((s) => (s.name === 'linear' ? withState(s, { state: 'needs-sign-in' }) : s));
    fake.emitServersChanged();
    await vi.waitFor(() => expect(row('linear').dataset.state).toBe('needs-sign-in'));
    expect(spy).toHaveBeenCalled();
    expect(row('linear').querySelector('[data-action="sign-in"]')).not.toBeNull();
  });

  it('folds a burst of changes into few reads', async () => {
    const fake = new FakeBackend({ servers: sampleServers(NOW) });
    await start(fake);
    const spy = vi.spyOn(fake, 'listServers');
    for (let i = 0; i < 10; i++) fake.emitServersChanged();
    await settle();
    await settle();
    expect(spy.mock.calls.length).toBeLessThanOrEqual(2);
  });

  it('keeps the focus on the button pressed when the list is redrawn', async () => {
    const fake = new FakeBackend({ servers: sampleServers(NOW) });
    await start(fake);
    (row('linear').querySelector('[data-action="diagnose"]') as HTMLElement).focus();
    fake.emitServersChanged();
    await settle();
    expect((document.activeElement as HTMLElement).dataset.action).toBe('diagnose');
    expect(document.activeElement!.closest('[data-server]')!.getAttribute('data-server')).toBe('linear');
  });

  it('asks before removing, saying it also signs out and removes the client entries', async () => {
    const fake = new FakeBackend({ servers: sampleServers(NOW) });
    const remove = vi.spyOn(fake, 'removeServer');
    await start(fake);
    (row('linear').querySelector('[data-action="remove"]') as HTMLElement).click();
    expect(remove).not.toHaveBeenCalled();
    expect(row('linear').textContent).toContain('Remove linear? Tether signs out of it, forgets its token and removes it from Claude Desktop and Claude Code.');
    expect((document.activeElement as HTMLElement).dataset.action).toBe('cancel-remove');
    (row('linear').querySelector('[data-action="cancel-remove"]') as HTMLElement).click();
    expect(row('linear').querySelector('[data-action="confirm-remove"]')).toBeNull();
    (row('linear').querySelector('[data-action="remove"]') as HTMLElement).click();
    (row('linear').querySelector('[data-action="confirm-remove"]') as HTMLElement).click();
    await vi.waitFor(() => expect(document.querySelector('[data-server="linear"]')).toBeNull());
    expect(remove).toHaveBeenCalledWith('linear');
    expect(status()).toBe('Removed linear.');
  });

  it('copies the Claude config entry to the clipboard', async () => {
    const fake = new FakeBackend({ servers: sampleServers(NOW) });
    await start(fake);
    (row('linear').querySelector('[data-action="copy"]') as HTMLElement).click();
    await vi.waitFor(() => expect(fake.clipboard).not.toBeNull());
    expect(JSON.parse(fake.clipboard!)).toEqual({ linear: { command: '/usr/lib/tether/tether', args: ['run', 'linear'] } });
    expect(status()).toBe('Copied the Claude Desktop entry for linear.');
  });

  it('shows the entry in a dialog when the clipboard is not available', async () => {
    const fake = new FakeBackend({ servers: sampleServers(NOW) });
    vi.spyOn(fake, 'writeClipboard').mockRejectedValue('no clipboard');
    await start(fake);
    (row('linear').querySelector('[data-action="copy"]') as HTMLElement).click();
    await vi.waitFor(() => expect($('#copy-dialog').hasAttribute('open')).toBe(true));
    expect(($('#copy-text') as HTMLTextAreaElement).value).toContain('"run"');
  });

  it('adds and removes a server from one client with its checkboxes', async () => {
    const fake = new FakeBackend({ servers: sampleServers(NOW) });
    const install = vi.spyOn(fake, 'installEntry');
    const uninstall = vi.spyOn(fake, 'uninstallEntry');
    await start(fake);
    const box = row('internal').querySelector<HTMLInputElement>('input[name="server-client"][value="cursor"]')!;
    box.checked = true;
    box.dispatchEvent(new Event('change', { bubbles: true }));
    await vi.waitFor(() => expect(install).toHaveBeenCalledWith('internal', 'cursor'));
    await vi.waitFor(() => expect(row('internal').textContent).toContain('Used byCursor'));
    const again = row('internal').querySelector<HTMLInputElement>('input[name="server-client"][value="cursor"]')!;
    again.checked = false;
    again.dispatchEvent(new Event('change', { bubbles: true }));
    await vi.waitFor(() => expect(uninstall).toHaveBeenCalledWith('internal', 'cursor'));
  });
});

describe("Claude Code's HTTP entry", () => {
  const offer = (name: string, client: string) =>
    row(name).querySelector<HTMLButtonElement>(`[data-action="install-http"][data-client="${client}"]`);

  it('is offered for Claude Code only, not for the clients that read headers only as text', async () => {
    const fake = new FakeBackend({ servers: sampleServers(NOW) });
    await start(fake);
    await settle();
    const button = offer('notion', 'claude-code');
    expect(button?.textContent).toBe('Use the HTTP entry (Claude Code talks to the server; Tether signs in and refreshes)');
    expect(row('notion').querySelectorAll('[data-action="install-http"]')).toHaveLength(1);
    for (const other of ['claude-desktop', 'cursor', 'vscode', 'windsurf', 'zed', 'cline']) expect(offer('notion', other)).toBeNull();
    expect(row('notion').textContent).toContain('The other clients get the stdio entry: they read headers only as text.');
  });

  it('is not offered for a server that needs no sign-in or token', async () => {
    const servers = sampleServers(NOW).map((s) => (s.name === 'linear' ? { ...s, auth: 'none' as const } : s));
    await start(new FakeBackend({ servers }));
    await settle();
    expect(row('linear').querySelector('[data-action="install-http"]')).toBeNull();
    expect(offer('internal', 'claude-code')).not.toBeNull();
  });

  it('installs it through installHttpEntry and shows the kind of each entry', async () => {
    const fake = new FakeBackend({ servers: sampleServers(NOW) });
    const http = vi.spyOn(fake, 'installHttpEntry');
    const stdio = vi.spyOn(fake, 'installEntry');
    await start(fake);
    await settle();
    // linear runs in Claude Code over stdio.
    expect(row('linear').querySelector('[data-entry-kind]')?.getAttribute('data-entry-kind')).toBe('stdio');
    offer('linear', 'claude-code')!.click();
    await vi.waitFor(() => expect(http).toHaveBeenCalledWith('linear', 'claude-code'));
    expect(stdio).not.toHaveBeenCalled();
    await vi.waitFor(() => expect(row('linear').querySelector('[data-entry-kind]')?.getAttribute('data-entry-kind')).toBe('http'));
    expect(status()).toBe('Added linear to Claude Code as an HTTP entry: Claude Code talks to the server, Tether signs in and refreshes.');
    // And back to the stdio entry.
    row('linear').querySelector<HTMLButtonElement>('[data-action="install-stdio"][data-client="claude-code"]')!.click();
    await vi.waitFor(() => expect(stdio).toHaveBeenCalledWith('linear', 'claude-code'));
    await vi.waitFor(() => expect(row('linear').querySelector('[data-entry-kind]')?.getAttribute('data-entry-kind')).toBe('stdio'));
  });

  it('shows the reason inline when the entry cannot be written', async () => {
    const fake = new FakeBackend({ servers: sampleServers(NOW) });
    vi.spyOn(fake, 'installHttpEntry').mockResolvedValue({
      installed: [],
      errors: [{ client: 'claude-code', message: 'no server is named "notion"' }],
    });
    await start(fake);
    await settle();
    offer('notion', 'claude-code')!.click();
    await vi.waitFor(() => expect(row('notion').querySelector('.error')?.textContent).toBe('no server is named "notion"'));
  });
});

describe('adding a server', () => {
  async function openAdd(fake: FakeBackend): Promise<void> {
    await start(fake, 'add');
    await settle();
  }

  it('checks the URL first and refuses plain http to another computer', async () => {
    const fake = new FakeBackend();
    const probe = vi.spyOn(fake, 'probeServer');
    await openAdd(fake);
    type('#add-url', 'http://example.com/mcp');
    click('#add-check');
    await settle();
    expect(probe).not.toHaveBeenCalled();
    expect($('#add-url-error').textContent).toMatch(/https/);
    expect($('#add-url').getAttribute('aria-invalid')).toBe('true');
    expect($input('#add-url').value).toBe('http://example.com/mcp');
  });

  it('adds an OAuth server and signs in right after', async () => {
    const fake = new FakeBackend({ now: () => NOW });
    const add = vi.spyOn(fake, 'addServer');
    const signIn = vi.spyOn(fake, 'signIn');
    await openAdd(fake);
    type('#add-url', 'https://mcp.linear.app/mcp');
    click('#add-check');
    await vi.waitFor(() => expect($('#add-kind').dataset.kind).toBe('oauth'));
    expect($('#add-kind').textContent).toContain('OAuth');
    expect($input('#add-name').value).toBe('linear');
    expect($input('#add-auth-oauth').checked).toBe(true);
    expect($('#add-token-fields').hidden).toBe(true);
    expect($('#add-submit').textContent).toBe('Add and sign in');
    // Claude Desktop and the installed clients are ticked.
    expect($input('input[name=client][value="claude-desktop"]').checked).toBe(true);
    expect($input('input[name=client][value="claude-code"]').checked).toBe(true);
    expect($input('input[name=client][value="cursor"]').checked).toBe(false);
    click('#add-submit');
    await vi.waitFor(() => expect($('#add-signin').dataset.state).toBe('done'));
    expect(add).toHaveBeenCalledWith({
      name: 'linear', url: 'https://mcp.linear.app/mcp', auth: 'oauth', token: null, token_header: null, clients: ['claude-desktop', 'claude-code'], keep_token: false,
    });
    expect(signIn).toHaveBeenCalledWith('linear');
    expect(add.mock.invocationCallOrder[0]).toBeLessThan(signIn.mock.invocationCallOrder[0]);
    expect($('#add-result').hidden).toBe(false);
    expect($('#add-result-files').textContent).toContain('claude_desktop_config.json');
    expect($('#add-signin').textContent).toContain('Signed in to linear.');
    click('#add-restart');
    await vi.waitFor(() => expect(fake.restarts).toBe(1));
  });

  it('says "Waiting for the browser…" during the sign-in after adding, and offers to retry a failed one', async () => {
    const fake = new FakeBackend();
    const gate = deferred();
    vi.spyOn(fake, 'signIn').mockImplementationOnce(async () => {
      await gate.promise;
      throw 'the sign-in timed out';
    });
    await openAdd(fake);
    type('#add-url', 'https://mcp.linear.app/mcp');
    click('#add-check');
    await vi.waitFor(() => expect($('#add-form').hidden).toBe(false));
    click('#add-submit');
    await vi.waitFor(() => expect($('#add-signin').textContent).toContain('Waiting for the browser…'));
    gate.resolve();
    await vi.waitFor(() => expect($('#add-signin').dataset.state).toBe('error'));
    expect($('#add-signin [role="alert"]').textContent).toContain('the sign-in timed out');
    click('#add-sign-in');
    await vi.waitFor(() => expect($('#add-signin').dataset.state).toBe('done'));
  });

  it('asks a bearer server for its token and header, and does not add it without a token', async () => {
    const fake = new FakeBackend();
    const add = vi.spyOn(fake, 'addServer');
    const signIn = vi.spyOn(fake, 'signIn');
    await openAdd(fake);
    type('#add-url', 'https://token.example.com/mcp');
    click('#add-check');
    await vi.waitFor(() => expect($('#add-kind').dataset.kind).toBe('token'));
    expect($input('#add-auth-bearer').checked).toBe(true);
    expect($('#add-token-fields').hidden).toBe(false);
    expect($input('#add-token').type).toBe('password');
    expect($input('#add-token-header').value).toBe('Authorization');
    expect(document.activeElement).toBe($('#add-token'));
    click('#add-submit');
    await settle();
    expect(add).not.toHaveBeenCalled();
    expect($('#add-token-error').textContent).toMatch(/token/);
    expect($('#add-token').getAttribute('aria-invalid')).toBe('true');
    expect(document.activeElement).toBe($('#add-token'));
    type('#add-token', 'sk-secret');
    type('#add-token-header', 'X-API-Key');
    click('#add-submit');
    await vi.waitFor(() => expect($('#add-result').hidden).toBe(false));
    expect(add).toHaveBeenCalledWith(expect.objectContaining({ name: 'token-example', auth: 'bearer', token: 'sk-secret', token_header: 'X-API-Key' }));
    expect(signIn).not.toHaveBeenCalled();
    expect(fake.tokens.get('token-example')).toBe('sk-secret');
    expect($input('#add-token').value).toBe('');
  });

  it('adds an open server with no sign-in, named after the server', async () => {
    const fake = new FakeBackend();
    const signIn = vi.spyOn(fake, 'signIn');
    await openAdd(fake);
    type('#add-url', 'http://127.0.0.1:3000/mcp');
    click('#add-check');
    await vi.waitFor(() => expect($('#add-kind').dataset.kind).toBe('open'));
    expect($input('#add-name').value).toBe('demo-server');
    expect($input('#add-auth-none').checked).toBe(true);
    click('#add-submit');
    await vi.waitFor(() => expect($('#add-result').hidden).toBe(false));
    expect(signIn).not.toHaveBeenCalled();
    expect(fake.servers[0]).toMatchObject({ name: 'demo-server', auth: 'none' });
    expect($('#add-signin').dataset.state).toBe('none');
  });

  it('keeps a name the user typed when the URL is checked again', async () => {
    const fake = new FakeBackend();
    await openAdd(fake);
    type('#add-url', 'https://mcp.linear.app/mcp');
    click('#add-check');
    await vi.waitFor(() => expect($input('#add-name').value).toBe('linear'));
    type('#add-name', 'work-linear');
    type('#add-url', 'https://mcp.linear.app/mcp?x=1');
    expect($('#add-kind').dataset.stale).toBe('true');
    click('#add-check');
    await vi.waitFor(() => expect($('#add-kind').dataset.stale).toBeUndefined());
    expect($input('#add-name').value).toBe('work-linear');
  });

  it('shows an error from add_server inline and keeps everything typed', async () => {
    const fake = new FakeBackend();
    vi.spyOn(fake, 'addServer').mockRejectedValueOnce('the keychain is locked');
    await openAdd(fake);
    type('#add-url', 'https://token.example.com/mcp');
    click('#add-check');
    await vi.waitFor(() => expect($('#add-kind').dataset.kind).toBe('token'));
    type('#add-name', 'mine');
    type('#add-token', 'sk-typed');
    type('#add-token-header', 'X-Key');
    const cursor = $input('input[name=client][value="cursor"]');
    cursor.checked = true;
    cursor.dispatchEvent(new Event('change', { bubbles: true }));
    click('#add-submit');
    await vi.waitFor(() => expect($('#add-error').hidden).toBe(false));
    expect($('#add-error').getAttribute('role')).toBe('alert');
    expect($('#add-error').textContent).toBe('Cannot add mine: the keychain is locked');
    expect($input('#add-url').value).toBe('https://token.example.com/mcp');
    expect($input('#add-name').value).toBe('mine');
    expect($input('#add-token').value).toBe('sk-typed');
    expect($input('#add-token-header').value).toBe('X-Key');
    expect($input('input[name=client][value="cursor"]').checked).toBe(true);
    expect($('#add-form').hidden).toBe(false);
    expect(($('#add-submit') as HTMLButtonElement).disabled).toBe(false);
    // A second try goes through.
    click('#add-submit');
    await vi.waitFor(() => expect($('#add-result').hidden).toBe(false));
  });

  it('refuses a name already taken before asking the backend', async () => {
    const fake = new FakeBackend({ servers: sampleServers(NOW) });
    const add = vi.spyOn(fake, 'addServer');
    await openAdd(fake);
    type('#add-url', 'https://mcp.linear.app/mcp');
    click('#add-check');
    await vi.waitFor(() => expect($('#add-form').hidden).toBe(false));
    click('#add-submit');
    await settle();
    expect($('#add-name-error').textContent).toMatch(/already/);
    expect(add).not.toHaveBeenCalled();
  });

  it('offers Diagnose for a URL whose check failed, and still lets the user add it', async () => {
    const fake = new FakeBackend();
    const diagnose = vi.spyOn(fake, 'diagnose');
    await openAdd(fake);
    type('#add-url', 'https://down.example.com/mcp');
    click('#add-check');
    await vi.waitFor(() => expect($('#add-probe-error').hidden).toBe(false));
    expect($('#add-probe-error [role="alert"]').textContent).toContain('cannot reach');
    expect($('#add-form').hidden).toBe(false);
    expect($input('#add-name').value).toBe('down-example');
    click('#add-diagnose');
    expect($('#view-diagnose').hidden).toBe(false);
    await vi.waitFor(() => expect(diagnose).toHaveBeenCalledWith('https://down.example.com/mcp'));
    await vi.waitFor(() => expect(document.querySelector('#diagnose-summary')).not.toBeNull());
    click('#diagnose-back');
    expect($('#view-add').hidden).toBe(false);
    expect($input('#add-url').value).toBe('https://down.example.com/mcp');
  });

  it('reports the clients it could not write next to the ones it did', async () => {
    const fake = new FakeBackend();
    vi.spyOn(fake, 'addServer').mockResolvedValue({
      installed: [{ client: 'claude-desktop', path: '/home/u/.config/Claude/claude_desktop_config.json' }],
      errors: [{ client: 'zed', message: 'settings.json line 3: expected a comma' }],
    });
    await openAdd(fake);
    type('#add-url', 'https://open.example.com/mcp');
    click('#add-check');
    await vi.waitFor(() => expect($('#add-form').hidden).toBe(false));
    click('#add-submit');
    await vi.waitFor(() => expect($('#add-result').hidden).toBe(false));
    expect($('#add-result-files').textContent).toContain('Claude Desktop: /home/u/.config/Claude/claude_desktop_config.json');
    expect($('#add-result-errors').textContent).toBe('Zed: settings.json line 3: expected a comma');
    expect(document.querySelector('#add-restart')).not.toBeNull();
  });
});

describe('editing a server', () => {
  const edit = (name: string) => (row(name).querySelector('[data-action="edit"]') as HTMLElement).click();
  const pick = (auth: string) => {
    const r = $input(`#add-auth-${auth}`);
    r.checked = true;
    r.dispatchEvent(new Event('change', { bubbles: true }));
  };
  const ticked = () => [...document.querySelectorAll<HTMLInputElement>('input[name=client]:checked')].map((i) => i.value);

  it('opens the form filled in from the server when Edit is pressed', async () => {
    const fake = new FakeBackend({ servers: sampleServers(NOW) });
    const probe = vi.spyOn(fake, 'probeServer');
    await start(fake);
    const button = row('linear').querySelector<HTMLElement>('[data-action="edit"]')!;
    expect(button.textContent).toBe('Edit');
    expect(button.nextElementSibling!.getAttribute('data-action')).toBe('remove');
    edit('linear');
    expect($('#view-add').hidden).toBe(false);
    expect($('#view-add').dataset.mode).toBe('edit');
    expect($('#add-title').textContent).toBe('Edit linear');
    expect(location.hash).toBe('#edit=linear');
    expect($('#add-form').hidden).toBe(false);
    expect(probe).not.toHaveBeenCalled();
    expect($input('#add-url').value).toBe('https://mcp.linear.app/mcp');
    expect(document.activeElement).toBe($('#add-url'));
    expect($input('#add-auth-oauth').checked).toBe(true);
    expect($input('#add-name').value).toBe('linear');
    expect($input('#add-name').readOnly).toBe(true);
    expect($('#add-name-hint').textContent).toContain('Renaming is not supported');
    expect($('#add-name').getAttribute('aria-describedby')).toContain('add-name-hint');
    expect(ticked()).toEqual(['claude-desktop', 'claude-code']);
    expect($('#add-submit').textContent).toBe('Save');
    expect($('#add-cancel').hidden).toBe(false);
    expect($('#nav-add').hasAttribute('aria-current')).toBe(false);
  });

  it('saves a token server with an empty token field as keep_token true and token null', async () => {
    const fake = new FakeBackend({ servers: sampleServers(NOW) });
    fake.tokens.set('internal', 'sk-old');
    const add = vi.spyOn(fake, 'addServer');
    const signIn = vi.spyOn(fake, 'signIn');
    await start(fake);
    edit('internal');
    expect($input('#add-auth-bearer').checked).toBe(true);
    expect($('#add-token-fields').hidden).toBe(false);
    expect($('#add-token-hint').textContent).toContain('Leave empty to keep the current token');
    expect($input('#add-token').value).toBe('');
    click('#add-submit');
    await vi.waitFor(() => expect($('#add-result').hidden).toBe(false));
    expect(add).toHaveBeenCalledWith({
      name: 'internal', url: 'https://tools.example.com/mcp', auth: 'bearer', token: null, token_header: 'Authorization', clients: [], keep_token: true,
    });
    expect(fake.tokens.get('internal')).toBe('sk-old');
    expect(signIn).not.toHaveBeenCalled();
    expect($('#add-result h3').textContent).toBe('Saved internal');
  });

  it('sends a new token when one is typed for a token server', async () => {
    const fake = new FakeBackend({ servers: sampleServers(NOW) });
    fake.tokens.set('internal', 'sk-old');
    const add = vi.spyOn(fake, 'addServer');
    await start(fake);
    edit('internal');
    type('#add-token', ' sk-new ');
    click('#add-submit');
    await vi.waitFor(() => expect($('#add-result').hidden).toBe(false));
    expect(add).toHaveBeenCalledWith(expect.objectContaining({ token: 'sk-new', keep_token: false }));
    expect(fake.tokens.get('internal')).toBe('sk-new');
  });

  it('requires a token when an OAuth server is switched to a token', async () => {
    const fake = new FakeBackend({ servers: sampleServers(NOW) });
    const add = vi.spyOn(fake, 'addServer');
    await start(fake);
    edit('notion');
    pick('bearer');
    expect($('#add-token-fields').hidden).toBe(false);
    expect($('#add-token-hint').textContent).not.toContain('Leave empty');
    click('#add-submit');
    await settle();
    expect(add).not.toHaveBeenCalled();
    expect($('#add-token-error').textContent).toMatch(/token/);
    expect($('#add-token').getAttribute('aria-invalid')).toBe('true');
    expect(document.activeElement).toBe($('#add-token'));
  });

  it('does not call the server’s own name taken', async () => {
    const fake = new FakeBackend({ servers: sampleServers(NOW) });
    const add = vi.spyOn(fake, 'addServer');
    await start(fake);
    edit('linear');
    click('#add-submit');
    await vi.waitFor(() => expect($('#add-result').hidden).toBe(false));
    expect($('#add-name-error').hidden).toBe(true);
    expect(add).toHaveBeenCalledWith(expect.objectContaining({ name: 'linear', keep_token: false }));
    expect(fake.servers.filter((s) => s.name === 'linear')).toHaveLength(1);
  });

  it('does not sign a signed-in OAuth server in again after saving, but signs in one that needed it', async () => {
    const fake = new FakeBackend({ servers: sampleServers(NOW) });
    const signIn = vi.spyOn(fake, 'signIn');
    await start(fake);
    edit('linear');
    click('#add-submit');
    await vi.waitFor(() => expect($('#add-result').hidden).toBe(false));
    expect($('#add-signin').dataset.state).toBe('none');
    expect(signIn).not.toHaveBeenCalled();
    click('#add-done');
    await vi.waitFor(() => expect(document.querySelector('[data-server="notion"]')).not.toBeNull());
    edit('notion');
    click('#add-submit');
    await vi.waitFor(() => expect($('#add-signin').dataset.state).toBe('done'));
    expect(signIn).toHaveBeenCalledWith('notion');
  });

  it('removes the entries of the clients unticked when saving', async () => {
    const fake = new FakeBackend({ servers: sampleServers(NOW) });
    const uninstall = vi.spyOn(fake, 'uninstallEntry');
    await start(fake);
    edit('linear');
    const code = $input('input[name=client][value="claude-code"]');
    code.checked = false;
    code.dispatchEvent(new Event('change', { bubbles: true }));
    click('#add-submit');
    await vi.waitFor(() => expect($('#add-result').hidden).toBe(false));
    expect(uninstall).toHaveBeenCalledWith('linear', 'claude-code');
    expect($('#add-result-removed').textContent).toBe('Removed from Claude Code.');
    expect(fake.servers.find((s) => s.name === 'linear')!.clients).toEqual(['claude-desktop']);
  });

  it('opens edit mode from the hash #edit=<name>', async () => {
    await start(new FakeBackend({ servers: sampleServers(NOW) }), 'edit=internal');
    expect($('#view-add').hidden).toBe(false);
    expect($('#view-add').dataset.mode).toBe('edit');
    expect($('#add-title').textContent).toBe('Edit internal');
    await vi.waitFor(() => expect($input('#add-url').value).toBe('https://tools.example.com/mcp'));
    expect($('#add-form').hidden).toBe(false);
    expect($input('#add-auth-bearer').checked).toBe(true);
    expect(parseHash('#edit=my%20server')).toEqual({ view: 'add', target: 'my server' });
    location.hash = '#edit=linear';
    await vi.waitFor(() => expect($('#add-title').textContent).toBe('Edit linear'));
    expect($input('#add-url').value).toBe('https://mcp.linear.app/mcp');
  });

  it('says so when the hash names no server', async () => {
    await start(new FakeBackend({ servers: sampleServers(NOW) }), 'edit=nope');
    await vi.waitFor(() => expect($('#add-edit-error').hidden).toBe(false));
    expect($('#add-edit-error').textContent).toContain('There is no server named “nope”.');
    expect($('#add-form').hidden).toBe(true);
  });

  it('resets to a blank add when edit mode is left by the nav, Cancel or "Add another server"', async () => {
    const fake = new FakeBackend({ servers: sampleServers(NOW) });
    await start(fake);
    const blank = () => {
      expect($('#view-add').dataset.mode).toBe('add');
      expect($('#add-title').textContent).toBe('Add a server');
      expect($input('#add-url').value).toBe('');
      expect($input('#add-name').value).toBe('');
      expect($input('#add-name').readOnly).toBe(false);
      expect($('#add-name-hint').textContent).not.toContain('Renaming');
      expect($('#add-form').hidden).toBe(true);
      expect($('#add-cancel').hidden).toBe(true);
      expect(location.hash).toBe('#add');
    };
    edit('internal');
    type('#add-token', 'half-typed');
    click('#nav-add');
    blank();
    expect($input('#add-token').value).toBe('');
    expect(document.activeElement).toBe($('#add-title'));

    click('#nav-servers');
    edit('linear');
    click('#add-cancel');
    expect($('#view-servers').hidden).toBe(false);
    expect(document.activeElement).toBe($('#servers-title'));
    click('#nav-add');
    blank();

    click('#nav-servers');
    edit('linear');
    click('#add-submit');
    await vi.waitFor(() => expect($('#add-result').hidden).toBe(false));
    click('#add-another');
    blank();
    expect(document.activeElement).toBe($('#add-url'));
    // And a new add works as before.
    type('#add-url', 'https://mcp.linear.app/mcp');
    click('#add-check');
    await vi.waitFor(() => expect($('#add-form').hidden).toBe(false));
    expect($('#add-submit').textContent).toBe('Add and sign in');
  });

  it('stays in edit mode when coming back from Diagnose', async () => {
    const fake = new FakeBackend({ servers: sampleServers(NOW) });
    await start(fake);
    edit('linear');
    type('#add-url', 'https://down.example.com/mcp');
    click('#add-check');
    await vi.waitFor(() => expect($('#add-probe-error').hidden).toBe(false));
    click('#add-diagnose');
    click('#diagnose-back');
    expect($('#view-add').dataset.mode).toBe('edit');
    expect(location.hash).toBe('#edit=linear');
    expect($input('#add-url').value).toBe('https://down.example.com/mcp');
  });

  it('makes the fake refuse an empty token unless it is kept', async () => {
    const fake = new FakeBackend({ servers: sampleServers(NOW) });
    const base = { name: 'internal', url: 'https://tools.example.com/mcp', auth: 'bearer' as const, token: null, token_header: null, clients: [] };
    await expect(fake.addServer({ ...base, keep_token: false })).rejects.toBe('the token is empty');
    await expect(fake.addServer({ ...base, name: 'linear', keep_token: true })).rejects.toMatch(/no token to keep/);
    await expect(fake.addServer({ ...base, keep_token: true })).resolves.toEqual({ installed: [], errors: [] });
  });
});

describe('importing mcp-remote entries', () => {
  it('lists the candidates with checkboxes and imports the ticked ones', async () => {
    const fake = new FakeBackend({ candidates: SAMPLE_CANDIDATES.map((c) => ({ ...c })) });
    const importServers = vi.spyOn(fake, 'importServers');
    await start(fake, 'add');
    await vi.waitFor(() => expect(document.querySelectorAll('#import-list input[name=import]')).toHaveLength(2));
    expect($('#import-list').textContent).toContain('github');
    expect($('#import-list').textContent).toContain('moves to the keychain');
    expect($('#import-submit').textContent).toBe('Import 2 servers');
    const sentry = $input('#import-list input[value="cursor:sentry"]');
    sentry.checked = false;
    sentry.dispatchEvent(new Event('change', { bubbles: true }));
    expect($('#import-submit').textContent).toBe('Import selected');
    click('#import-submit');
    await vi.waitFor(() => expect($('#import-result').textContent).toBe('Imported github.'));
    expect(importServers).toHaveBeenCalledWith([{ client: 'claude-desktop', name: 'github' }]);
    expect(fake.servers.map((s) => s.name)).toEqual(['github']);
    expect(document.querySelectorAll('#import-list input[name=import]')).toHaveLength(1);
  });

  it('says the name an entry gets, what is dropped and why one cannot be imported, leaving that one unticked', async () => {
    const odd = {
      client: 'cursor', file: '~/.cursor/mcp.json', name: 'My Tools', server: 'my-tools', url: 'https://tools.example.com/mcp',
      token_header: null, has_secret: false, ignored: ['--debug'], problem: '--transport carrier-pigeon is not a transport Tether knows',
    };
    const fake = new FakeBackend({ servers: sampleServers(NOW), candidates: [{ ...SAMPLE_CANDIDATES[1], name: 'Sentry', server: 'notion' }, odd] });
    await start(fake);
    await vi.waitFor(() => row('notion'));
    click('#nav-add');
    await vi.waitFor(() => expect(document.querySelectorAll('#import-list input[name=import]')).toHaveLength(2));
    const [renamed, broken] = [...document.querySelectorAll<HTMLInputElement>('#import-list input[name=import]')];
    const about = (i: HTMLInputElement) => $(`#${i.id}-about`).textContent ?? '';
    // Its Tether name, not the entry's, is the one already taken.
    expect(about(renamed)).toContain('It becomes the server “notion”.');
    expect(about(renamed)).toContain('A server with this name already exists.');
    expect(renamed.checked).toBe(false);
    expect(about(broken)).toContain('Tether has no equivalent for --debug: dropped.');
    expect(about(broken)).not.toContain('already exists');
    expect($(`#${broken.id}-problem`).textContent).toBe('Cannot be imported as it is: --transport carrier-pigeon is not a transport Tether knows');
    expect(broken.getAttribute('aria-describedby')).toBe(`${broken.id}-about ${broken.id}-problem`);
    expect(broken.checked).toBe(false);
    expect(($('#import-submit') as HTMLButtonElement).disabled).toBe(true);
  });

  it('cannot import with nothing ticked', async () => {
    const fake = new FakeBackend({ candidates: SAMPLE_CANDIDATES.map((c) => ({ ...c })) });
    await start(fake, 'add');
    await vi.waitFor(() => expect(document.querySelectorAll('#import-list input[name=import]')).toHaveLength(2));
    for (const i of document.querySelectorAll<HTMLInputElement>('#import-list input[name=import]')) {
      i.checked = false;
      i.dispatchEvent(new Event('change', { bubbles: true }));
    }
    expect(($('#import-submit') as HTMLButtonElement).disabled).toBe(true);
  });

  it('shows per-entry import errors', async () => {
    const fake = new FakeBackend({ candidates: SAMPLE_CANDIDATES.map((c) => ({ ...c })) });
    vi.spyOn(fake, 'importServers').mockResolvedValue({ imported: ['github'], errors: [{ name: 'sentry', message: 'the keychain is locked' }] });
    await start(fake, 'add');
    await vi.waitFor(() => expect(document.querySelectorAll('#import-list input[name=import]')).toHaveLength(2));
    click('#import-submit');
    await vi.waitFor(() => expect($('#import-error').textContent).toBe('sentry: the keychain is locked'));
    expect($('#import-result').textContent).toBe('Imported github.');
  });

  it('offers to delete mcp-remote’s plain-text token cache after an import, and deletes it when asked', async () => {
    const fake = new FakeBackend({ candidates: [{ ...SAMPLE_CANDIDATES[0] }], mcpAuthCache: '/home/ann/.mcp-auth' });
    const deleteCache = vi.spyOn(fake, 'deleteMcpAuthCache');
    await start(fake, 'add');
    await vi.waitFor(() => expect(document.querySelectorAll('#import-list input[name=import]')).toHaveLength(1));
    expect($('#mcp-auth-offer').hidden).toBe(true);
    click('#import-submit');
    await vi.waitFor(() => expect($('#mcp-auth-offer').hidden).toBe(false));
    expect($('#mcp-auth-offer').textContent).toContain('/home/ann/.mcp-auth');
    expect(deleteCache).not.toHaveBeenCalled();
    click('#mcp-auth-delete');
    await vi.waitFor(() => expect($('#mcp-auth-offer').textContent).toContain('deleted'));
    expect(deleteCache).toHaveBeenCalledTimes(1);
    expect(fake.mcpAuthCache).toBeNull();
  });

  it('says so when there is nothing to import', async () => {
    await start(new FakeBackend(), 'add');
    await vi.waitFor(() => expect($('#import-list').textContent).toContain('No “npx mcp-remote” entries'));
    expect(($('#import-submit') as HTMLButtonElement).disabled).toBe(true);
  });
});

describe('the wiped Claude Desktop config', () => {
  it('shows a banner, puts the servers back and offers to restart Claude Desktop', async () => {
    const fake = new FakeBackend({ servers: sampleServers(NOW) });
    const setUp = vi.spyOn(fake, 'setUpClient');
    await start(fake);
    expect($('#banner-wiped').hidden).toBe(true);
    fake.emitWiped(['linear', 'notion']);
    expect($('#banner-wiped').hidden).toBe(false);
    expect($('#banner-wiped').textContent).toContain('Claude Desktop rewrote its config and dropped 2 servers');
    expect(status()).toContain('dropped 2 servers');
    click('#banner-put-back');
    await vi.waitFor(() => expect(document.querySelector('#banner-restart')).not.toBeNull());
    expect(setUp).toHaveBeenCalledWith('claude-desktop');
    expect(document.activeElement).toBe($('#banner-restart'));
    click('#banner-restart');
    await vi.waitFor(() => expect(fake.restarts).toBe(1));
    expect($('#banner-wiped').hidden).toBe(true);
  });

  it('keeps the banner up with the error when putting them back fails', async () => {
    const fake = new FakeBackend({ servers: sampleServers(NOW) });
    vi.spyOn(fake, 'setUpClient').mockRejectedValue('claude_desktop_config.json line 4: trailing comma');
    await start(fake);
    fake.emitWiped(['linear']);
    click('#banner-put-back');
    await vi.waitFor(() => expect($('#banner-wiped [role="alert"]').textContent).toContain('line 4'));
    expect(($('#banner-put-back') as HTMLButtonElement).disabled).toBe(false);
  });

  it('stays dismissed for the same servers, and comes back for others', async () => {
    const fake = new FakeBackend({ servers: sampleServers(NOW) });
    await start(fake);
    fake.emitWiped(['linear']);
    click('#banner-dismiss');
    expect($('#banner-wiped').hidden).toBe(true);
    fake.emitWiped(['linear']);
    expect($('#banner-wiped').hidden).toBe(true);
    fake.emitWiped(['linear', 'notion']);
    expect($('#banner-wiped').hidden).toBe(false);
  });
});

describe('settings', () => {
  it('loads the settings into the form', async () => {
    const fake = new FakeBackend({ settings: { clients: ['cursor'], client_metadata_url: 'https://example.com/c.json', start_at_login: true, log_level: 'debug' } });
    await start(fake, 'settings');
    await vi.waitFor(() => expect($input('#settings-cimd').value).toBe('https://example.com/c.json'));
    expect($input('#settings-login').checked).toBe(true);
    expect(($('#settings-log-level') as HTMLSelectElement).value).toBe('debug');
    await vi.waitFor(() => expect($input('input[name=settings-client][value=cursor]').checked).toBe(true));
    expect($input('input[name=settings-client][value=claude-desktop]').checked).toBe(false);
  });

  it('refuses a Client ID Metadata Document URL that is not https, keeping what was typed', async () => {
    const fake = new FakeBackend();
    const save = vi.spyOn(fake, 'setSettings');
    await start(fake, 'settings');
    await settle();
    type('#settings-cimd', 'http://example.com/c.json');
    click('#settings-save');
    await settle();
    expect(save).not.toHaveBeenCalled();
    expect($('#settings-cimd-error').textContent).toMatch(/https/);
    expect($('#settings-cimd').getAttribute('aria-invalid')).toBe('true');
    expect($input('#settings-cimd').value).toBe('http://example.com/c.json');
    expect(document.activeElement).toBe($('#settings-cimd'));
  });

  it('shows the sentence the app gives for a Client ID Metadata Document URL, and saves only one it accepts', async () => {
    const fake = new FakeBackend();
    // Not the fake's own sentence: the view must show what the app says.
    const sentence = 'the client metadata URL https://example.com/ must be https and have a path';
    const check = vi.spyOn(fake, 'checkMetadataUrl').mockImplementation(async (url) => (url === 'https://example.com/' ? sentence : null));
    const save = vi.spyOn(fake, 'setSettings');
    await start(fake, 'settings');
    await settle();
    type('#settings-cimd', ' https://example.com/ ');
    $('#settings-cimd').dispatchEvent(new Event('blur'));
    await vi.waitFor(() => expect($('#settings-cimd-error').textContent).toBe(sentence));
    expect(check).toHaveBeenLastCalledWith('https://example.com/');
    expect($('#settings-cimd').getAttribute('aria-invalid')).toBe('true');
    expect($('#settings-cimd-error').hidden).toBe(false);

    click('#settings-save');
    await settle();
    expect(save).not.toHaveBeenCalled();
    expect($('#settings-cimd-error').textContent).toBe(sentence);
    expect(document.activeElement).toBe($('#settings-cimd'));
    expect($('#settings-saved').hidden).toBe(true);

    type('#settings-cimd', 'https://example.com/tether.json');
    expect($('#settings-cimd').getAttribute('aria-invalid')).toBeNull();
    expect($('#settings-cimd-error').hidden).toBe(true);
    click('#settings-save');
    await vi.waitFor(() => expect($('#settings-saved').hidden).toBe(false));
    expect(check).toHaveBeenLastCalledWith('https://example.com/tether.json');
    expect(save).toHaveBeenCalledTimes(1);
    expect(fake.settings.client_metadata_url).toBe('https://example.com/tether.json');
  });

  it('saves an empty Client ID Metadata Document URL as none, without asking the app', async () => {
    const fake = new FakeBackend({ settings: { clients: [], client_metadata_url: 'https://example.com/c.json', start_at_login: false, log_level: 'info' } });
    const check = vi.spyOn(fake, 'checkMetadataUrl');
    await start(fake, 'settings');
    await vi.waitFor(() => expect($input('#settings-cimd').value).toBe('https://example.com/c.json'));
    type('#settings-cimd', '  ');
    $('#settings-cimd').dispatchEvent(new Event('blur'));
    click('#settings-save');
    await vi.waitFor(() => expect($('#settings-saved').hidden).toBe(false));
    expect(check).not.toHaveBeenCalled();
    expect(fake.settings.client_metadata_url).toBeNull();
  });

  it('drops an answer about a URL changed since it was asked', async () => {
    const fake = new FakeBackend();
    const answer = deferred<string | null>();
    vi.spyOn(fake, 'checkMetadataUrl').mockReturnValueOnce(answer.promise);
    await start(fake, 'settings');
    await settle();
    type('#settings-cimd', 'http://example.com/c.json');
    $('#settings-cimd').dispatchEvent(new Event('blur'));
    type('#settings-cimd', 'https://example.com/c.json');
    answer.resolve('the client metadata URL must be https');
    await settle();
    expect($('#settings-cimd-error').hidden).toBe(true);
    expect($('#settings-cimd').getAttribute('aria-invalid')).toBeNull();
  });

  it('saves the clients, the URL, start at login and the log level', async () => {
    const fake = new FakeBackend();
    await start(fake, 'settings');
    await vi.waitFor(() => expect(document.querySelector('input[name=settings-client]')).not.toBeNull());
    const zed = $input('input[name=settings-client][value=zed]');
    zed.checked = true;
    zed.dispatchEvent(new Event('input', { bubbles: true }));
    type('#settings-cimd', ' https://example.com/tether.json ');
    $input('#settings-login').checked = true;
    const level = $('#settings-log-level') as HTMLSelectElement;
    level.value = 'debug';
    click('#settings-save');
    await vi.waitFor(() => expect($('#settings-saved').hidden).toBe(false));
    expect(fake.settings).toEqual({ clients: ['zed'], client_metadata_url: 'https://example.com/tether.json', start_at_login: true, log_level: 'debug' });
    expect(status()).toBe('Settings saved.');
  });

  it('shows a refused save inline and keeps the form', async () => {
    const fake = new FakeBackend();
    vi.spyOn(fake, 'setSettings').mockRejectedValue('cannot change start at login: no autostart dir');
    await start(fake, 'settings');
    await settle();
    $input('#settings-login').checked = true;
    click('#settings-save');
    await vi.waitFor(() => expect($('#settings-error').textContent).toContain('no autostart dir'));
    expect($input('#settings-login').checked).toBe(true);
  });
});

describe('logs', () => {
  it('shows the app log, then a server’s, and reads it again on Refresh', async () => {
    const fake = new FakeBackend({ servers: sampleServers(NOW) });
    const read = vi.spyOn(fake, 'readLogs');
    await start(fake);
    click('#nav-logs');
    await vi.waitFor(() => expect($('#logs-text').textContent).toContain('app: started'));
    expect(read).toHaveBeenLastCalledWith(null);
    const source = $('#logs-source') as HTMLSelectElement;
    expect([...source.options].map((o) => o.value)).toEqual(['', 'linear', 'notion', 'internal']);
    source.value = 'linear';
    source.dispatchEvent(new Event('change'));
    await vi.waitFor(() => expect($('#logs-text').textContent).toContain('linear: started'));
    click('#logs-refresh');
    await vi.waitFor(() => expect(read).toHaveBeenCalledTimes(3));
    expect(read).toHaveBeenLastCalledWith('linear');
  });

  it('says so when a log cannot be read', async () => {
    const fake = new FakeBackend();
    vi.spyOn(fake, 'readLogs').mockRejectedValue('cannot read /x/app.log: permission denied');
    await start(fake, 'logs');
    await vi.waitFor(() => expect($('#logs-error').textContent).toContain('permission denied'));
  });
});
