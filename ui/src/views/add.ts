// Add a server: paste the URL, Check (probe), name it, pick the clients,
// Add; for OAuth the sign-in follows at once. Also: import mcp-remote entries.

import { errorText, type AuthKind, type ImportRow, type InstallResult, type Probe } from '../api';
import type { Ctx } from '../app';
import { byId, fill, h, setError } from '../dom';
import {
  AUTH_LABELS,
  CLAUDE_DESKTOP,
  addProblems,
  addRequest,
  authFromProbe,
  clientName,
  defaultClients,
  importKey,
  joinWords,
  nameFromUrl,
  picksFromKeys,
  plural,
  serverUrlProblem,
  suggestName,
  type AddForm,
} from '../logic';

const KIND_WORDS: Record<Probe['kind'], string> = {
  oauth: 'OAuth: you sign in with your browser.',
  token: 'Bearer token or API key: paste the token below.',
  open: 'No sign-in needed.',
};

export class AddView {
  el: HTMLElement;
  heading: HTMLElement;
  private url: HTMLInputElement;
  private urlError: HTMLElement;
  private check: HTMLButtonElement;
  private kind: HTMLElement;
  private probeError: HTMLElement;
  private form: HTMLFormElement;
  private name: HTMLInputElement;
  private nameError: HTMLElement;
  private token: HTMLInputElement;
  private tokenError: HTMLElement;
  private tokenHeader: HTMLInputElement;
  private tokenHeaderError: HTMLElement;
  private tokenFields: HTMLElement;
  private clientsBox: HTMLElement;
  private submit: HTMLButtonElement;
  private error: HTMLElement;
  private result: HTMLElement;
  private importList: HTMLElement;
  private importSubmit: HTMLButtonElement;
  private importError: HTMLElement;
  private importResult: HTMLElement;
  /** The user typed a name: the probe no longer suggests one. */
  private nameEdited = false;
  private clientsTouched = false;
  private probedUrl: string | null = null;
  private candidates: ImportRow[] = [];
  private importLoaded = false;

  constructor(private ctx: Ctx) {
    this.heading = h('h2', { id: 'add-title', tabindex: -1 }, 'Add a server');
    this.url = h('input', {
      id: 'add-url', name: 'url', type: 'url', inputmode: 'url', autocomplete: 'url', spellcheck: 'false',
      placeholder: 'https://example.com/mcp', required: true, 'aria-describedby': 'add-url-hint add-url-error',
    });
    this.urlError = h('p', { id: 'add-url-error', class: 'error', role: 'alert', hidden: true });
    this.check = h('button', { type: 'submit', id: 'add-check' }, 'Check');
    this.kind = h('p', { id: 'add-kind', class: 'kind', hidden: true });
    this.probeError = h('div', { id: 'add-probe-error', class: 'error-box', hidden: true });
    const probeForm = h('form', { id: 'add-probe-form', novalidate: true },
      h('label', { for: 'add-url' }, 'Server URL'),
      h('div', { class: 'inline' }, this.url, this.check),
      h('p', { id: 'add-url-hint', class: 'hint' }, 'The address the server’s documentation gives for MCP, usually ending in /mcp.'),
      this.urlError,
      this.kind,
      this.probeError,
    );
    probeForm.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.probe();
    });
    this.url.addEventListener('input', () => {
      setError(this.urlError, null);
      this.url.removeAttribute('aria-invalid');
      if (this.probedUrl !== null && this.url.value.trim() !== this.probedUrl) {
        this.kind.dataset.stale = 'true';
      } else {
        delete this.kind.dataset.stale;
      }
    });

    this.name = h('input', { id: 'add-name', name: 'name', type: 'text', autocomplete: 'off', spellcheck: 'false', maxlength: 64, 'aria-describedby': 'add-name-hint add-name-error' });
    this.name.addEventListener('input', () => {
      this.nameEdited = true;
      this.clearInvalid(this.name, this.nameError);
    });
    this.nameError = h('p', { id: 'add-name-error', class: 'error', role: 'alert', hidden: true });
    this.token = h('input', { id: 'add-token', name: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'add-token-hint add-token-error' });
    this.token.addEventListener('input', () => this.clearInvalid(this.token, this.tokenError));
    this.tokenError = h('p', { id: 'add-token-error', class: 'error', role: 'alert', hidden: true });
    this.tokenHeader = h('input', { id: 'add-token-header', name: 'token-header', type: 'text', value: 'Authorization', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'add-token-header-hint add-token-header-error' });
    this.tokenHeader.addEventListener('input', () => this.clearInvalid(this.tokenHeader, this.tokenHeaderError));
    this.tokenHeaderError = h('p', { id: 'add-token-header-error', class: 'error', role: 'alert', hidden: true });
    this.tokenFields = h('div', { id: 'add-token-fields', hidden: true },
      h('label', { for: 'add-token' }, 'Token or API key'),
      this.token,
      h('p', { id: 'add-token-hint', class: 'hint' }, 'Kept in the system keychain, never in a config file.'),
      this.tokenError,
      h('label', { for: 'add-token-header' }, 'Header name'),
      this.tokenHeader,
      h('p', { id: 'add-token-header-hint', class: 'hint' }, 'Authorization sends “Bearer <token>”; another header (like X-API-Key) sends the token as it is.'),
      this.tokenHeaderError,
    );
    this.clientsBox = h('div', { id: 'add-clients', class: 'checks' });
    this.clientsBox.addEventListener('change', () => (this.clientsTouched = true));
    this.submit = h('button', { type: 'submit', id: 'add-submit', class: 'primary' }, 'Add server');
    this.error = h('p', { id: 'add-error', class: 'error', role: 'alert', hidden: true });
    const authBox = h('fieldset', { id: 'add-auth' },
      h('legend', {}, 'How it signs in'),
      (['oauth', 'bearer', 'none'] as AuthKind[]).map((a) =>
        h('div', { class: 'check' },
          h('input', { type: 'radio', id: `add-auth-${a}`, name: 'auth', value: a, checked: a === 'oauth' }),
          h('label', { for: `add-auth-${a}` }, AUTH_LABELS[a]),
        ),
      ),
    );
    authBox.addEventListener('change', () => this.authChanged());
    this.form = h('form', { id: 'add-form', novalidate: true, hidden: true },
      authBox,
      h('label', { for: 'add-name' }, 'Name'),
      this.name,
      h('p', { id: 'add-name-hint', class: 'hint' }, 'How Claude shows it: letters, digits, “-” and “_”.'),
      this.nameError,
      this.tokenFields,
      h('fieldset', {}, h('legend', {}, 'Add it to'), this.clientsBox),
      h('div', { class: 'actions' }, this.submit),
      this.error,
    );
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.add();
    });
    this.result = h('div', { id: 'add-result', class: 'result', hidden: true, tabindex: -1 });

    this.importList = h('div', { id: 'import-list' });
    this.importSubmit = h('button', { type: 'submit', id: 'import-submit', disabled: true }, 'Import selected');
    this.importError = h('p', { id: 'import-error', class: 'error', role: 'alert', hidden: true });
    this.importResult = h('p', { id: 'import-result', class: 'note', hidden: true });
    const importForm = h('form', { id: 'import-form', novalidate: true },
      this.importList,
      h('div', { class: 'actions' },
        this.importSubmit,
        h('button', { type: 'button', id: 'import-refresh', onclick: () => void this.loadCandidates() }, 'Look again'),
      ),
      this.importError,
      this.importResult,
    );
    importForm.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.import();
    });
    this.importList.addEventListener('change', () => this.updateImportButton());

    this.el = h('section', { id: 'view-add', class: 'view', 'aria-labelledby': 'add-title', hidden: true },
      this.heading,
      probeForm,
      this.form,
      this.result,
      h('section', { id: 'import', class: 'import', 'aria-labelledby': 'import-title' },
        h('h3', { id: 'import-title' }, 'Import from mcp-remote'),
        h('p', { class: 'hint' }, 'Entries that run “npx mcp-remote <url>” in your MCP clients’ configs become Tether entries; a token in their --header or env moves to the keychain.'),
        importForm,
      ),
    );
  }

  enter(): void {
    if (!this.importLoaded) void this.loadCandidates();
    if (!this.ctx.clients.length) void this.ctx.loadClients().catch(() => undefined);
  }

  /** The clients' checkboxes; ticks kept if the user changed them. */
  updateClients(): void {
    const was = this.clientsTouched ? this.checkedClients() : null;
    void this.ctx.backend.getSettings().then(
      (s) => this.drawClients(was ?? defaultClients(this.ctx.clients, s)),
      () => this.drawClients(was ?? defaultClients(this.ctx.clients, null)),
    );
    this.drawClients(was ?? defaultClients(this.ctx.clients, null));
  }

  private drawClients(ticked: string[]): void {
    if (this.clientsTouched) ticked = this.checkedClients();
    fill(this.clientsBox, this.ctx.clients.map((c) => {
      const id = `add-client-${c.id}`;
      return h('div', { class: 'check' },
        h('input', { type: 'checkbox', id, name: 'client', value: c.id, checked: ticked.includes(c.id) }),
        h('label', { for: id }, c.name, c.installed ? '' : h('span', { class: 'aside' }, ' (not found on this computer)')),
      );
    }));
  }

  private checkedClients(): string[] {
    return [...this.clientsBox.querySelectorAll<HTMLInputElement>('input[name=client]:checked')].map((i) => i.value);
  }

  private auth(): AuthKind {
    return (this.form.querySelector<HTMLInputElement>('input[name=auth]:checked')?.value as AuthKind) ?? 'oauth';
  }

  private setAuth(a: AuthKind): void {
    const r = this.form.querySelector<HTMLInputElement>(`input[name=auth][value=${a}]`);
    if (r) r.checked = true;
    this.authChanged();
  }

  private authChanged(): void {
    const a = this.auth();
    this.tokenFields.hidden = a !== 'bearer';
    this.submit.textContent = a === 'oauth' ? 'Add and sign in' : 'Add server';
  }

  private clearInvalid(input: HTMLElement, error: HTMLElement): void {
    input.removeAttribute('aria-invalid');
    setError(error, null);
  }

  private showFormFor(url: string, probe: Probe | null): void {
    if (!this.nameEdited || !this.name.value.trim()) {
      this.name.value = suggestName(url, probe);
      this.nameEdited = false;
    }
    this.form.hidden = false;
    this.result.hidden = true;
  }

  /** Check: asks the server what it needs. */
  async probe(): Promise<void> {
    const url = this.url.value.trim();
    const problem = serverUrlProblem(url);
    setError(this.probeError, null);
    if (problem) {
      this.url.setAttribute('aria-invalid', 'true');
      setError(this.urlError, problem);
      this.url.focus();
      return;
    }
    this.check.disabled = true;
    this.check.textContent = 'Checking…';
    this.kind.hidden = false;
    delete this.kind.dataset.kind;
    delete this.kind.dataset.stale;
    this.kind.textContent = `Asking ${url} what it needs…`;
    this.ctx.announce('Checking the server…');
    try {
      const p = await this.ctx.backend.probeServer(url);
      this.probedUrl = url;
      this.kind.dataset.kind = p.kind;
      fill(this.kind,
        h('strong', {}, KIND_WORDS[p.kind]), ' ', p.summary,
        p.legacy_sse ? ' It speaks the older HTTP+SSE transport.' : '',
      );
      this.setAuth(authFromProbe(p.kind));
      this.showFormFor(url, p);
      this.ctx.announce(`${KIND_WORDS[p.kind]} ${p.summary}`);
      (p.kind === 'token' ? this.token : this.name).focus();
    } catch (e) {
      const message = errorText(e);
      this.probedUrl = url;
      this.kind.hidden = true;
      const diagnose = h('button', { type: 'button', id: 'add-diagnose', onclick: () => this.ctx.show('diagnose', { target: url, back: 'add', focus: true }) }, 'Diagnose');
      fill(this.probeError,
        h('p', { role: 'alert' }, `The check failed: ${message}`),
        h('p', {}, 'Diagnose says why and how to fix it. You can still add the server: pick how it signs in below.'),
        diagnose,
      );
      this.probeError.hidden = false;
      if (!this.name.value.trim()) this.name.value = nameFromUrl(url);
      this.showFormFor(url, null);
    } finally {
      this.check.disabled = false;
      this.check.textContent = 'Check';
    }
  }

  private readForm(): AddForm {
    return {
      url: this.url.value,
      name: this.name.value,
      auth: this.auth(),
      token: this.token.value,
      tokenHeader: this.tokenHeader.value,
      clients: this.checkedClients(),
    };
  }

  /** Add: the server, then its entries, then (OAuth) the sign-in. */
  async add(): Promise<void> {
    const f = this.readForm();
    const problems = addProblems(f, this.ctx.servers.map((s) => s.name));
    const fields: [keyof AddForm, HTMLInputElement, HTMLElement][] = [
      ['url', this.url, this.urlError],
      ['name', this.name, this.nameError],
      ['token', this.token, this.tokenError],
      ['tokenHeader', this.tokenHeader, this.tokenHeaderError],
    ];
    let first: HTMLInputElement | null = null;
    for (const [k, input, err] of fields) {
      const p = problems[k];
      setError(err, p ?? null);
      if (p) {
        input.setAttribute('aria-invalid', 'true');
        first ??= input;
      } else input.removeAttribute('aria-invalid');
    }
    setError(this.error, null);
    if (first) {
      first.focus();
      return;
    }
    const request = addRequest(f);
    this.submit.disabled = true;
    this.submit.textContent = 'Adding…';
    this.ctx.announce(`Adding ${request.name}…`);
    let result: InstallResult;
    try {
      result = await this.ctx.backend.addServer(request);
    } catch (e) {
      setError(this.error, `Cannot add ${request.name}: ${errorText(e)}`);
      this.ctx.announce('');
      this.authChanged();
      this.submit.disabled = false;
      return;
    }
    this.submit.disabled = false;
    this.authChanged();
    this.token.value = '';
    void this.ctx.refreshServers();
    void this.ctx.loadClients().catch(() => undefined);
    this.showResult(request.name, request.auth, result);
    if (request.auth === 'oauth') await this.signIn(request.name);
  }

  private showResult(name: string, auth: AuthKind, r: InstallResult): void {
    const clients = this.ctx.clients;
    const inClaude = r.installed.some((i) => i.client === CLAUDE_DESKTOP);
    const errorBox = h('p', { id: 'add-result-error', class: 'error', role: 'alert', hidden: true });
    const restart = inClaude
      ? h('button', { type: 'button', id: 'add-restart', onclick: () => void this.ctx.restartClaude(restart!, errorBox) }, 'Restart Claude Desktop')
      : null;
    fill(this.result,
      h('h3', {}, `Added ${name}`),
      r.installed.length
        ? [h('p', {}, `Written to ${plural(r.installed.length, 'config file')}:`),
           h('ul', { id: 'add-result-files' }, r.installed.map((i) => h('li', { 'data-client': i.client }, h('strong', {}, clientName(i.client, clients)), ': ', h('code', {}, i.path))))]
        : h('p', {}, 'No MCP client was set up: tick one on the server’s card to add it later.'),
      r.errors.length
        ? h('ul', { id: 'add-result-errors', class: 'error', role: 'alert' }, r.errors.map((e) => h('li', { 'data-client': e.client }, `${clientName(e.client, clients)}: ${e.message}`)))
        : null,
      h('div', { id: 'add-signin', 'data-state': auth === 'oauth' ? 'pending' : 'none' }),
      inClaude ? h('p', { class: 'hint' }, 'Claude Desktop reads its config when it starts: restart it to use the new server.') : null,
      h('div', { class: 'actions' },
        restart,
        h('button', { type: 'button', id: 'add-done', onclick: () => this.ctx.show('servers', { focus: true }) }, 'Show servers'),
        h('button', { type: 'button', id: 'add-another', onclick: () => this.reset() }, 'Add another server'),
      ),
      errorBox,
    );
    this.form.hidden = true;
    this.result.hidden = false;
    this.result.focus();
    const written = r.installed.length ? ` Written to ${joinWords(r.installed.map((i) => clientName(i.client, clients)))}.` : '';
    this.ctx.announce(`Added ${name}.${written}`);
  }

  private async signIn(name: string): Promise<void> {
    const box = byId('add-signin', this.result);
    box.dataset.state = 'waiting';
    fill(box, h('p', { class: 'busy' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), `Waiting for the browser… sign in to ${name} in the window that opened.`));
    this.ctx.announce('Waiting for the browser…');
    try {
      await this.ctx.backend.signIn(name);
      box.dataset.state = 'done';
      fill(box, h('p', { class: 'ok' }, h('span', { 'aria-hidden': 'true' }, '✓ '), `Signed in to ${name}.`));
      this.ctx.announce(`Signed in to ${name}.`);
    } catch (e) {
      box.dataset.state = 'error';
      fill(box,
        h('p', { class: 'error', role: 'alert' }, `The sign-in did not finish: ${errorText(e)}`),
        h('button', { type: 'button', id: 'add-sign-in', class: 'primary', onclick: () => void this.signIn(name) }, 'Sign in'),
      );
    }
    void this.ctx.refreshServers();
  }

  /** Starts over for another server. */
  reset(): void {
    for (const i of [this.url, this.name, this.token]) i.value = '';
    this.tokenHeader.value = 'Authorization';
    this.nameEdited = false;
    this.clientsTouched = false;
    this.updateClients();
    this.probedUrl = null;
    this.kind.hidden = true;
    this.probeError.hidden = true;
    this.form.hidden = true;
    this.result.hidden = true;
    this.url.focus();
  }

  // ------------------------------------------------------------ import

  async loadCandidates(): Promise<void> {
    this.importLoaded = true;
    setError(this.importError, null);
    fill(this.importList, h('p', { class: 'hint' }, 'Looking for mcp-remote entries…'));
    this.importSubmit.disabled = true;
    try {
      this.candidates = await this.ctx.backend.importCandidates();
    } catch (e) {
      this.candidates = [];
      fill(this.importList);
      setError(this.importError, `Cannot look for mcp-remote entries: ${errorText(e)}`);
      return;
    }
    this.drawCandidates();
  }

  private drawCandidates(): void {
    if (!this.candidates.length) {
      fill(this.importList, h('p', { class: 'hint', id: 'import-empty' }, 'No “npx mcp-remote” entries found in your MCP clients’ configs.'));
      this.updateImportButton();
      return;
    }
    const taken = new Set(this.ctx.servers.map((s) => s.name));
    fill(this.importList, h('fieldset', {},
      h('legend', {}, 'Entries found'),
      this.candidates.map((c, i) => {
        const id = `import-${i}`;
        const exists = taken.has(c.name);
        return h('div', { class: 'check' },
          h('input', { type: 'checkbox', id, name: 'import', value: importKey(c), checked: !exists, 'aria-describedby': `${id}-about` }),
          h('label', { for: id }, h('strong', {}, c.name), ' — ', c.url),
          h('p', { id: `${id}-about`, class: 'hint about' },
            `In ${clientName(c.client, this.ctx.clients)} (${c.file}).`,
            c.has_secret ? ` Its token${c.token_header ? ` (${c.token_header})` : ''} moves to the keychain.` : '',
            exists ? ' A server with this name already exists.' : '',
          ),
        );
      }),
    ));
    this.updateImportButton();
  }

  private pickedKeys(): string[] {
    return [...this.importList.querySelectorAll<HTMLInputElement>('input[name=import]:checked')].map((i) => i.value);
  }

  private updateImportButton(): void {
    const n = this.pickedKeys().length;
    this.importSubmit.disabled = n === 0;
    this.importSubmit.textContent = n > 1 ? `Import ${n} servers` : 'Import selected';
  }

  async import(): Promise<void> {
    const picks = picksFromKeys(this.pickedKeys());
    if (!picks.length) return;
    setError(this.importError, null);
    this.importResult.hidden = true;
    this.importSubmit.disabled = true;
    this.ctx.announce('Importing…');
    try {
      const r = await this.ctx.backend.importServers(picks);
      await this.ctx.refreshServers();
      await this.loadCandidates();
      const said: string[] = [];
      if (r.imported.length) said.push(`Imported ${joinWords(r.imported)}.`);
      if (!r.imported.length && !r.errors.length) said.push('Nothing was imported.');
      if (r.errors.length) setError(this.importError, r.errors.map((e) => `${e.name}: ${e.message}`).join(' '));
      this.importResult.textContent = said.join(' ');
      this.importResult.hidden = !said.length;
      this.ctx.announce(said.join(' ') || 'Some entries could not be imported.');
    } catch (e) {
      setError(this.importError, `Cannot import: ${errorText(e)}`);
      this.updateImportButton();
    }
  }
}
