// Add a server: paste the URL, Check (probe), name it, pick the clients,
// Add; for OAuth the sign-in follows at once. Also: import mcp-remote entries.
// Edit mode (`show('add', { target: name })`, `#edit=<name>`): the same form
// filled in from that server, saved with the same add_server.

import { errorText, type AuthKind, type ImportCandidate, type InstallReport, type Probe, type ServerRow } from '../api';
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

const NAME_HINT = 'How Claude shows it: letters, digits, “-” and “_”.';
const NAME_HINT_EDIT = 'Renaming is not supported: to use another name, remove this server and add it again.';
const TOKEN_HINT = 'Kept in the system keychain, never in a config file.';
const TOKEN_HINT_KEEP = 'Leave empty to keep the current token. A new one replaces it in the system keychain.';

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
  private nameHint: HTMLElement;
  private tokenHint: HTMLElement;
  private clientsBox: HTMLElement;
  private submit: HTMLButtonElement;
  private cancel: HTMLButtonElement;
  private editError: HTMLElement;
  private importSection: HTMLElement;
  private error: HTMLElement;
  private result: HTMLElement;
  private importList: HTMLElement;
  private importSubmit: HTMLButtonElement;
  private importError: HTMLElement;
  private importResult: HTMLElement;
  /** After an import: mcp-remote's plain-text token cache, offered for deletion. */
  private cacheOffer: HTMLElement;
  /** The user typed a name: the probe no longer suggests one. */
  private nameEdited = false;
  private clientsTouched = false;
  private probedUrl: string | null = null;
  private candidates: ImportCandidate[] = [];
  private importLoaded = false;
  /** The server being edited (edit mode), by name. */
  private editName: string | null = null;
  /** Its row as it was when the form was filled in; null until it is known. */
  private editRow: ServerRow | null = null;
  /** Bumped when the form starts over: late answers for the old one are dropped. */
  private formSeq = 0;
  /** Entered with the focus before the server to edit was known. */
  private focusPending = false;

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
    this.nameHint = h('p', { id: 'add-name-hint', class: 'hint' }, NAME_HINT);
    this.token = h('input', { id: 'add-token', name: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'add-token-hint add-token-error' });
    this.token.addEventListener('input', () => this.clearInvalid(this.token, this.tokenError));
    this.tokenError = h('p', { id: 'add-token-error', class: 'error', role: 'alert', hidden: true });
    this.tokenHint = h('p', { id: 'add-token-hint', class: 'hint' }, TOKEN_HINT);
    this.tokenHeader = h('input', { id: 'add-token-header', name: 'token-header', type: 'text', value: 'Authorization', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'add-token-header-hint add-token-header-error' });
    this.tokenHeader.addEventListener('input', () => this.clearInvalid(this.tokenHeader, this.tokenHeaderError));
    this.tokenHeaderError = h('p', { id: 'add-token-header-error', class: 'error', role: 'alert', hidden: true });
    this.tokenFields = h('div', { id: 'add-token-fields', hidden: true },
      h('label', { for: 'add-token' }, 'Token or API key'),
      this.token,
      this.tokenHint,
      this.tokenError,
      h('label', { for: 'add-token-header' }, 'Header name'),
      this.tokenHeader,
      h('p', { id: 'add-token-header-hint', class: 'hint' }, 'Authorization sends “Bearer <token>”; another header (like X-API-Key) sends the token as it is.'),
      this.tokenHeaderError,
    );
    this.clientsBox = h('div', { id: 'add-clients', class: 'checks' });
    this.clientsBox.addEventListener('change', () => (this.clientsTouched = true));
    this.submit = h('button', { type: 'submit', id: 'add-submit', class: 'primary' }, 'Add server');
    this.cancel = h('button', { type: 'button', id: 'add-cancel', hidden: true, onclick: () => this.leaveEdit() }, 'Cancel');
    this.editError = h('div', { id: 'add-edit-error', class: 'error-box', hidden: true });
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
      this.nameHint,
      this.nameError,
      this.tokenFields,
      h('fieldset', {}, h('legend', {}, 'Add it to'), this.clientsBox),
      h('div', { class: 'actions' }, this.submit, this.cancel),
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
    this.cacheOffer = h('div', { id: 'mcp-auth-offer', class: 'note', hidden: true });
    const importForm = h('form', { id: 'import-form', novalidate: true },
      this.importList,
      h('div', { class: 'actions' },
        this.importSubmit,
        h('button', { type: 'button', id: 'import-refresh', onclick: () => void this.loadCandidates() }, 'Look again'),
      ),
      this.importError,
      this.importResult,
      this.cacheOffer,
    );
    importForm.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.import();
    });
    this.importList.addEventListener('change', () => this.updateImportButton());

    this.importSection = h('section', { id: 'import', class: 'import', 'aria-labelledby': 'import-title' },
      h('h3', { id: 'import-title' }, 'Import from mcp-remote'),
      h('p', { class: 'hint' }, 'Entries that run “npx mcp-remote <url>” in your MCP clients’ configs become Tether entries; a token in their --header or env moves to the keychain.'),
      importForm,
    );
    this.el = h('section', { id: 'view-add', class: 'view', 'aria-labelledby': 'add-title', 'data-mode': 'add', hidden: true },
      this.heading,
      this.editError,
      probeForm,
      this.form,
      this.result,
      this.importSection,
    );
  }

  /** The name of the server being edited, or null when adding. */
  get editing(): string | null {
    return this.editName;
  }

  /** With `target`: edit that server. Without: a blank add, unless coming
   * back (`resume`, from Diagnose) to what was left. */
  enter(opts: { target?: string; resume?: boolean } = {}): void {
    if (opts.target) this.startEdit(opts.target);
    else if (this.editName !== null && !opts.resume) this.reset(false);
    if (!this.importLoaded) void this.loadCandidates();
    if (!this.ctx.clients.length) void this.ctx.loadClients().catch(() => undefined);
  }

  /** On entering with the focus: the first field when editing, else the heading. */
  focus(): void {
    if (this.editName !== null && !this.form.hidden) this.url.focus();
    else {
      this.focusPending = this.editName !== null;
      this.heading.focus();
    }
  }

  hash(): string {
    return this.editName !== null ? `#edit=${encodeURIComponent(this.editName)}` : '#add';
  }

  /** The servers were read again: fills in the server to edit once it is known. */
  updateServers(loaded: boolean): void {
    if (this.editName === null || this.editRow) return;
    const s = this.ctx.servers.find((x) => x.name === this.editName);
    if (s) {
      this.fillEdit(s);
      if (this.focusPending && !this.el.hidden && (document.activeElement === this.heading || document.activeElement === document.body)) this.url.focus();
      this.focusPending = false;
    } else if (loaded) {
      fill(this.editError,
        h('p', { role: 'alert' }, `There is no server named “${this.editName}”.`),
        h('button', { type: 'button', id: 'add-edit-back', onclick: () => this.leaveEdit() }, 'Show servers'),
      );
      this.editError.hidden = false;
    }
  }

  /** Edit mode for `name`: the form filled in from the server, or once it is read. */
  private startEdit(name: string): void {
    this.clearForm();
    this.editName = name;
    this.el.dataset.mode = 'edit';
    this.heading.textContent = `Edit ${name}`;
    this.importSection.hidden = true;
    this.cancel.hidden = false;
    this.name.value = name;
    this.name.readOnly = true;
    this.nameEdited = true;
    this.nameHint.textContent = NAME_HINT_EDIT;
    const s = this.ctx.servers.find((x) => x.name === name);
    if (s) this.fillEdit(s);
    // Not known (yet): read the servers; updateServers fills it in or says so.
    else void this.ctx.refreshServers();
    this.authChanged();
  }

  private fillEdit(s: ServerRow): void {
    this.editRow = s;
    this.editError.hidden = true;
    this.url.value = s.url;
    this.probedUrl = s.url;
    this.tokenHeader.value = s.token_header || 'Authorization';
    this.setAuth(s.auth);
    this.drawClients(s.clients);
    this.form.hidden = false;
    this.result.hidden = true;
  }

  /** Cancel: back to a blank add, and to the servers. */
  private leaveEdit(): void {
    this.reset(false);
    this.ctx.show('servers', { focus: true });
  }

  /** The clients' checkboxes; ticks kept if the user changed them. Edit
   * mode starts from the server's clients, adding from Settings' or the
   * installed ones. */
  updateClients(): void {
    const was = this.clientsTouched ? this.checkedClients() : null;
    if (this.editName !== null) {
      if (this.editRow) this.drawClients(was ?? this.editRow.clients);
      return;
    }
    const seq = this.formSeq;
    void this.ctx.backend.getSettings().then(
      (s) => seq === this.formSeq && this.drawClients(was ?? defaultClients(this.ctx.clients, s)),
      () => seq === this.formSeq && this.drawClients(was ?? defaultClients(this.ctx.clients, null)),
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

  /** Editing a server that has a token: an empty token field keeps it. */
  private canKeepToken(): boolean {
    return this.editName !== null && this.editRow?.auth === 'bearer';
  }

  private authChanged(): void {
    const a = this.auth();
    this.tokenFields.hidden = a !== 'bearer';
    this.submit.textContent = this.editName !== null ? 'Save' : a === 'oauth' ? 'Add and sign in' : 'Add server';
    this.tokenHint.textContent = this.canKeepToken() ? TOKEN_HINT_KEEP : TOKEN_HINT;
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

  /** Add (or Save, editing): the server, then its entries, then (OAuth)
   * the sign-in: for a new server, or an edited one that was not signed in. */
  async add(): Promise<void> {
    const f = this.readForm();
    const editing = this.editName !== null;
    const before = editing ? (this.ctx.servers.find((s) => s.name === this.editName) ?? this.editRow) : null;
    const keepable = this.canKeepToken();
    const taken = this.ctx.servers.map((s) => s.name).filter((n) => n !== this.editName);
    const problems = addProblems(f, taken, keepable);
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
    const request = addRequest(f, keepable);
    const seq = this.formSeq;
    this.submit.disabled = true;
    this.submit.textContent = editing ? 'Saving…' : 'Adding…';
    this.ctx.announce(`${editing ? 'Saving' : 'Adding'} ${request.name}…`);
    let result: InstallReport;
    try {
      result = await this.ctx.backend.addServer(request);
    } catch (e) {
      if (seq !== this.formSeq) return;
      setError(this.error, `Cannot ${editing ? 'save' : 'add'} ${request.name}: ${errorText(e)}`);
      this.ctx.announce('');
      this.authChanged();
      this.submit.disabled = false;
      return;
    }
    // add_server only writes entries: the clients unticked lose theirs here.
    const removed: string[] = [];
    for (const client of before?.clients.filter((c) => !request.clients.includes(c)) ?? []) {
      try {
        await this.ctx.backend.uninstallEntry(request.name, client);
        removed.push(client);
      } catch (e) {
        result.errors.push({ client, message: `could not remove the entry: ${errorText(e)}` });
      }
    }
    void this.ctx.refreshServers();
    void this.ctx.loadClients().catch(() => undefined);
    if (seq !== this.formSeq) return;
    this.submit.disabled = false;
    this.authChanged();
    this.token.value = '';
    const signIn = request.auth === 'oauth' && (!before || before.auth !== 'oauth' || before.state === 'needs-sign-in');
    this.showResult(request.name, signIn, result, editing, removed);
    if (signIn) await this.signIn(request.name);
  }

  private showResult(name: string, signIn: boolean, r: InstallReport, edited: boolean, removed: string[]): void {
    const clients = this.ctx.clients;
    const inClaude = r.installed.some((i) => i.client === CLAUDE_DESKTOP);
    const errorBox = h('p', { id: 'add-result-error', class: 'error', role: 'alert', hidden: true });
    const restart = inClaude
      ? h('button', { type: 'button', id: 'add-restart', onclick: () => void this.ctx.restartClaude(restart!, errorBox) }, 'Restart Claude Desktop')
      : null;
    const done = edited ? `Saved ${name}` : `Added ${name}`;
    fill(this.result,
      h('h3', {}, done),
      r.installed.length
        ? [h('p', {}, `Written to ${plural(r.installed.length, 'config file')}:`),
           h('ul', { id: 'add-result-files' }, r.installed.map((i) => h('li', { 'data-client': i.client }, h('strong', {}, clientName(i.client, clients)), ': ', h('code', {}, i.path))))]
        : h('p', {}, 'No MCP client was set up: tick one on the server’s card to add it later.'),
      removed.length
        ? h('p', { id: 'add-result-removed' }, `Removed from ${joinWords(removed.map((c) => clientName(c, clients)))}.`)
        : null,
      r.errors.length
        ? h('ul', { id: 'add-result-errors', class: 'error', role: 'alert' }, r.errors.map((e) => h('li', { 'data-client': e.client }, `${clientName(e.client, clients)}: ${e.message}`)))
        : null,
      h('div', { id: 'add-signin', 'data-state': signIn ? 'pending' : 'none' }),
      inClaude ? h('p', { class: 'hint' }, `Claude Desktop reads its config when it starts: restart it to use the ${edited ? 'changes' : 'new server'}.`) : null,
      h('div', { class: 'actions' },
        restart,
        h('button', { type: 'button', id: 'add-done', onclick: () => this.ctx.show('servers', { focus: true }) }, 'Show servers'),
        h('button', { type: 'button', id: 'add-another', onclick: () => this.addAnother() }, 'Add another server'),
      ),
      errorBox,
    );
    this.form.hidden = true;
    this.result.hidden = false;
    this.result.focus();
    const written = r.installed.length ? ` Written to ${joinWords(r.installed.map((i) => clientName(i.client, clients)))}.` : '';
    this.ctx.announce(`${done}.${written}`);
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

  /** "Add another server": a blank add, whichever mode this was. */
  private addAnother(): void {
    const wasEditing = this.editName !== null;
    this.reset();
    // The hash and the nav follow the mode.
    if (wasEditing) this.ctx.show('add');
    this.url.focus();
  }

  /** Starts over for another server: a blank add (edit mode left). */
  reset(focus = true): void {
    this.clearForm();
    if (focus) this.url.focus();
  }

  /** Empties the form, in add mode. */
  private clearForm(): void {
    this.formSeq++;
    this.focusPending = false;
    this.editName = null;
    this.editRow = null;
    this.el.dataset.mode = 'add';
    this.heading.textContent = 'Add a server';
    this.importSection.hidden = false;
    this.cancel.hidden = true;
    this.editError.hidden = true;
    for (const i of [this.url, this.name, this.token]) i.value = '';
    this.tokenHeader.value = 'Authorization';
    this.name.readOnly = false;
    this.nameHint.textContent = NAME_HINT;
    for (const [input, err] of [
      [this.url, this.urlError], [this.name, this.nameError], [this.token, this.tokenError], [this.tokenHeader, this.tokenHeaderError],
    ] as const) this.clearInvalid(input, err);
    setError(this.error, null);
    this.submit.disabled = false;
    this.nameEdited = false;
    this.clientsTouched = false;
    this.setAuth('oauth');
    this.updateClients();
    this.probedUrl = null;
    this.kind.hidden = true;
    delete this.kind.dataset.stale;
    this.probeError.hidden = true;
    this.form.hidden = true;
    this.result.hidden = true;
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
        // `server` is the name it gets in Tether, which can differ from the entry's.
        const exists = taken.has(c.server);
        return h('div', { class: 'check' },
          // Not ticked when the import would fail: the user ticks it knowing why.
          h('input', { type: 'checkbox', id, name: 'import', value: importKey(c), checked: !exists && !c.problem, 'aria-describedby': c.problem ? `${id}-about ${id}-problem` : `${id}-about` }),
          h('label', { for: id }, h('strong', {}, c.name), ' — ', c.url),
          h('p', { id: `${id}-about`, class: 'hint about' },
            `In ${clientName(c.client, this.ctx.clients)} (${c.file}).`,
            c.server !== c.name ? ` It becomes the server “${c.server}”.` : '',
            c.has_secret ? ` Its token${c.token_header ? ` (${c.token_header})` : ''} moves to the keychain.` : '',
            c.ignored.length ? ` Tether has no equivalent for ${joinWords(c.ignored)}: dropped.` : '',
            exists ? ' A server with this name already exists.' : '',
          ),
          c.problem ? h('p', { id: `${id}-problem`, class: 'error' }, `Cannot be imported as it is: ${c.problem}`) : null,
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

  /** mcp-remote keeps its tokens in plain text (`~/.mcp-auth`); once its
   * entries are Tether's, offer to delete them. */
  private offerCacheDeletion(path: string | null): void {
    if (!path) {
      fill(this.cacheOffer);
      this.cacheOffer.hidden = true;
      return;
    }
    const button = h('button', { type: 'button', id: 'mcp-auth-delete' }, 'Delete it');
    button.addEventListener('click', async () => {
      button.setAttribute('aria-disabled', 'true');
      try {
        await this.ctx.backend.deleteMcpAuthCache();
        fill(this.cacheOffer, h('p', {}, 'mcp-remote’s token cache is deleted.'));
        this.ctx.announce('mcp-remote’s token cache is deleted.');
      } catch (e) {
        fill(this.cacheOffer, h('p', { class: 'error', role: 'alert' }, `Cannot delete it: ${errorText(e)}`));
      }
    });
    fill(this.cacheOffer,
      h('p', {}, `mcp-remote still keeps its tokens in plain text at ${path}. Entries that still run mcp-remote will sign in again if it goes.`),
      button,
    );
    this.cacheOffer.hidden = false;
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
      this.offerCacheDeletion(r.mcp_auth_cache ?? null);
      this.ctx.announce(said.join(' ') || 'Some entries could not be imported.');
    } catch (e) {
      setError(this.importError, `Cannot import: ${errorText(e)}`);
      this.updateImportButton();
    }
  }
}
