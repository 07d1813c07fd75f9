// Servers: each with its live state, what it is signed in as, the clients
// that run it, and what can be done with it.

import { errorText, type ClientRow, type ServerRow } from '../api';
import type { Ctx } from '../app';
import { attr, fill, h, setError } from '../dom';
import { AUTH_LABELS, clientName, formatTime, joinWords, serverActions, stateIcon, stateLabel, type Action } from '../logic';

interface RowUi {
  /** What is under way, in words ("Waiting for the browser…"). */
  busy?: string;
  error?: string;
  note?: string;
  confirming?: boolean;
}

const ACTION_LABELS: Record<Action, string> = {
  'sign-in': 'Sign in',
  'sign-out': 'Sign out',
  diagnose: 'Diagnose',
  copy: 'Copy Claude config entry',
  edit: 'Edit',
  remove: 'Remove',
};

/** The offer's words: what the HTTP entry is, in a line. */
export const HTTP_ENTRY = 'HTTP entry (Claude Code talks to the server; Tether signs in and refreshes)';

/** The clients offered `s`'s HTTP entry: those that can run Tether for
 * their headers (Claude Code's headersHelper), for a server that signs in
 * or has a token (an open server needs no Tether between). */
export function httpEntryOffered(s: Pick<ServerRow, 'auth'>, clients: Pick<ClientRow, 'id' | 'headers_hook'>[]): string[] {
  if (s.auth === 'none') return [];
  return clients.filter((c) => c.headers_hook).map((c) => c.id);
}

export class ServersView {
  el: HTMLElement;
  heading: HTMLElement;
  private body: HTMLElement;
  private loadError: HTMLElement;
  private ui = new Map<string, RowUi>();
  private openEditors = new Set<string>();
  private copyDialog: HTMLDialogElement;
  private copyText: HTMLTextAreaElement;

  constructor(private ctx: Ctx) {
    this.heading = h('h2', { id: 'servers-title', tabindex: -1 }, 'Servers');
    this.body = h('div', { id: 'servers-body' });
    this.loadError = h('p', { class: 'error', role: 'alert', hidden: true });
    this.copyText = h('textarea', { id: 'copy-text', readonly: true, rows: 8, 'aria-labelledby': 'copy-title' });
    const copyError = h('p', { class: 'error', role: 'alert', hidden: true });
    this.copyDialog = h(
      'dialog',
      { id: 'copy-dialog', 'aria-labelledby': 'copy-title' },
      h('h3', { id: 'copy-title' }, 'Claude Desktop config entry'),
      h('p', {}, 'Paste this into the "mcpServers" object of claude_desktop_config.json.'),
      this.copyText,
      copyError,
      h('div', { class: 'actions' },
        h('button', {
          type: 'button',
          id: 'copy-dialog-copy',
          class: 'primary',
          onclick: async () => {
            this.copyText.select();
            try {
              await this.ctx.backend.writeClipboard(this.copyText.value);
              this.ctx.announce('Copied.');
              closeDialog(this.copyDialog);
            } catch {
              setError(copyError, 'The clipboard is not available: the text is selected, press Ctrl+C (⌘C) to copy it.');
            }
          },
        }, 'Copy'),
        h('button', { type: 'button', id: 'copy-dialog-close', onclick: () => closeDialog(this.copyDialog) }, 'Close'),
      ),
    );
    this.el = h(
      'section',
      { id: 'view-servers', class: 'view', 'aria-labelledby': 'servers-title' },
      h('div', { class: 'view-head' },
        this.heading,
        h('button', { type: 'button', id: 'servers-add', onclick: () => this.ctx.show('add', { focus: true }) }, '+ Add server'),
      ),
      this.loadError,
      this.body,
      this.copyDialog,
    );
    this.body.addEventListener('click', (e) => this.onClick(e));
    this.body.addEventListener('change', (e) => void this.onChange(e));
    // "toggle" does not bubble.
    this.body.addEventListener('toggle', (e) => {
      const d = e.target as HTMLDetailsElement;
      const name = d.closest<HTMLElement>('[data-server]')?.dataset.server;
      if (!name || d.tagName !== 'DETAILS') return;
      if (d.open) this.openEditors.add(name);
      else this.openEditors.delete(name);
    }, true);
  }

  enter(): void {
    this.render();
  }

  setLoadError(message: string | null): void {
    setError(this.loadError, message);
  }

  /** Draws the list from `ctx.servers`, keeping the focus where it was. */
  render(): void {
    const active = document.activeElement as HTMLElement | null;
    const focus = active && this.body.contains(active) ? focusKey(active) : null;
    const servers = this.ctx.servers;
    for (const name of this.ui.keys()) if (!servers.some((s) => s.name === name)) this.ui.delete(name);
    if (!servers.length) {
      fill(
        this.body,
        h('div', { id: 'servers-empty', class: 'empty' },
          h('p', { class: 'empty-title' }, 'No servers yet'),
          h('p', {}, 'Paste a remote MCP server’s URL, sign in once, and Claude Desktop can use it.'),
          h('button', { type: 'button', id: 'empty-add', class: 'primary big', 'data-action': 'add' }, 'Add your first server'),
        ),
      );
    } else {
      fill(this.body, h('ul', { id: 'server-list', class: 'cards' }, servers.map((s) => this.row(s))));
    }
    if (focus) restoreFocus(this.body, focus);
  }

  private row(s: ServerRow): HTMLElement {
    const ui = this.ui.get(s.name) ?? {};
    const id = `server-${s.name}`;
    const label = stateLabel(s, this.ctx.now());
    const details: [string, string | HTMLElement | null][] = [
      ['URL', s.url],
      ['Sign-in', AUTH_LABELS[s.auth] ?? s.auth],
      ['Issuer', s.issuer],
      ['Scopes', s.scopes],
      // A server of the stateless revision, which the bridge translates for
      // Claude's 2025-era handshake.
      ['MCP', s.modern_protocol ? `${s.modern_protocol} (translated for Claude)` : null],
      ['Signed in', s.signed_in_at ? formatTime(s.signed_in_at) : null],
      ['Expires', s.state === 'signed-in' && s.expires_at ? `${formatTime(s.expires_at)} (refreshed by itself)` : null],
      // An error state already shows its message in the label.
      ['Last error', s.last_error && !(s.state === 'error' && s.last_error === s.message) ? s.last_error : null],
      ['Used by', s.clients.length ? joinWords(s.clients.map((c) => clientName(c, this.ctx.clients))) : 'no MCP client yet'],
    ];
    const busy = Boolean(ui.busy);
    const actions = serverActions(s).map((a) =>
      h('button', {
        type: 'button',
        'data-action': a,
        'aria-describedby': `${id}-name`,
        class: a === 'sign-in' ? 'primary' : a === 'remove' ? 'danger' : null,
        // aria-disabled, not disabled: the focus stays on the button pressed.
        'aria-disabled': busy || (a === 'sign-in' && s.state === 'signing-in') ? 'true' : null,
      }, ACTION_LABELS[a]),
    );
    return h(
      'li',
      { class: 'card server', 'data-server': s.name, 'data-state': s.state, 'aria-labelledby': `${id}-name`, 'aria-busy': busy ? 'true' : null },
      h('div', { class: 'card-head' },
        h('h3', { id: `${id}-name` }, s.name),
        h('span', { class: `state state-${s.state}`, 'data-label': label }, h('span', { 'aria-hidden': 'true' }, `${stateIcon(s.state)} `), label),
      ),
      h('dl', { class: 'facts' }, details.filter(([, v]) => v).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
      this.ctx.clients.length ? this.clientEditor(s) : null,
      ui.busy ? h('p', { class: 'busy' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), ui.busy) : null,
      ui.note ? h('p', { class: 'note' }, ui.note) : null,
      ui.error ? h('p', { class: 'error', role: 'alert' }, ui.error) : null,
      ui.confirming
        ? h('div', { class: 'confirm', role: 'group', 'aria-labelledby': `${id}-confirm` },
            h('p', { id: `${id}-confirm` },
              `Remove ${s.name}? Tether signs out of it, forgets its token`,
              s.clients.length ? ` and removes it from ${joinWords(s.clients.map((c) => clientName(c, this.ctx.clients)))}.` : '.'),
            h('div', { class: 'actions' },
              h('button', { type: 'button', class: 'danger', 'data-action': 'confirm-remove' }, `Remove ${s.name}`),
              h('button', { type: 'button', 'data-action': 'cancel-remove' }, 'Cancel'),
            ),
          )
        : h('div', { class: 'actions' }, actions),
    );
  }

  /** Which clients run the server, as checkboxes (edit); for a client that
   * can run Tether for its headers (Claude Code), the HTTP entry too. */
  private clientEditor(s: ServerRow): HTMLElement {
    const busy = Boolean(this.ui.get(s.name)?.busy);
    const offers = httpEntryOffered(s, this.ctx.clients);
    return h('details', { class: 'clients', open: this.openEditors.has(s.name) },
      h('summary', {}, 'MCP clients'),
      h('fieldset', {},
        h('legend', {}, `Clients that run ${s.name}`),
        this.ctx.clients.map((c) => {
          const inputId = `server-${s.name}-client-${c.id}`;
          const configured = s.clients.includes(c.id);
          const http = configured && c.http.includes(s.name);
          return [
            h('div', { class: 'check' },
              h('input', { type: 'checkbox', id: inputId, name: 'server-client', value: c.id, checked: configured, 'data-server-client': s.name }),
              h('label', { for: inputId }, c.name, c.installed ? '' : h('span', { class: 'aside' }, ' (not found on this computer)')),
              configured && c.headers_hook
                ? h('p', { class: 'about entry-kind', 'data-entry-kind': http ? 'http' : 'stdio' }, http ? 'HTTP entry' : 'stdio entry')
                : null,
            ),
            offers.includes(c.id)
              ? h('div', { class: 'entry-offer' },
                  http
                    ? h('button', { type: 'button', 'data-action': 'install-stdio', 'data-client': c.id, 'aria-disabled': busy ? 'true' : null }, `Use the stdio entry in ${c.name} instead`)
                    : h('button', { type: 'button', 'data-action': 'install-http', 'data-client': c.id, 'aria-disabled': busy ? 'true' : null },
                        `Use the ${HTTP_ENTRY}`),
                )
              : null,
          ];
        }),
        offers.length && this.ctx.clients.some((c) => !c.headers_hook)
          ? h('p', { class: 'aside' }, 'The other clients get the stdio entry: they read headers only as text.')
          : null,
      ),
    );
  }

  private setUi(name: string, patch: RowUi | null): void {
    this.ui.set(name, patch ? { ...(this.ui.get(name) ?? {}), ...patch } : {});
    this.render();
  }

  private onClick(e: Event): void {
    const button = (e.target as HTMLElement).closest<HTMLButtonElement>('button[data-action]');
    if (!button || button.getAttribute('aria-disabled') === 'true') return;
    const action = button.dataset.action;
    if (action === 'add') {
      this.ctx.show('add', { focus: true });
      return;
    }
    const name = button.closest<HTMLElement>('[data-server]')?.dataset.server;
    if (!name) return;
    switch (action) {
      case 'sign-in':
        void this.run(name, 'Waiting for the browser… finish signing in there.', () => this.ctx.backend.signIn(name), `Signed in to ${name}.`);
        break;
      case 'sign-out':
        void this.run(name, 'Signing out…', () => this.ctx.backend.signOut(name), `Signed out of ${name}.`);
        break;
      case 'install-http':
      case 'install-stdio': {
        const client = button.dataset.client ?? '';
        const cname = clientName(client, this.ctx.clients);
        const http = action === 'install-http';
        void this.run(
          name,
          http ? `Adding the HTTP entry to ${cname}…` : `Adding the stdio entry to ${cname}…`,
          async () => {
            const r = http ? await this.ctx.backend.installHttpEntry(name, client) : await this.ctx.backend.installEntry(name, client);
            await this.ctx.loadClients().catch(() => []);
            if (r.errors.length) throw r.errors.map((x) => x.message).join('; ');
          },
          http
            ? `Added ${name} to ${cname} as an HTTP entry: ${cname} talks to the server, Tether signs in and refreshes.`
            : `Added ${name} to ${cname} as a stdio entry.`,
        );
        break;
      }
      case 'diagnose':
        this.ctx.show('diagnose', { target: name, back: 'servers', focus: true });
        break;
      case 'copy':
        void this.copy(name);
        break;
      case 'edit':
        this.ctx.show('add', { target: name, focus: true });
        break;
      case 'remove':
        this.setUi(name, { confirming: true, error: undefined, note: undefined });
        this.body.querySelector<HTMLElement>(`[data-server="${attr(name)}"] [data-action="cancel-remove"]`)?.focus();
        break;
      case 'cancel-remove':
        this.setUi(name, { confirming: false });
        this.body.querySelector<HTMLElement>(`[data-server="${attr(name)}"] [data-action="remove"]`)?.focus();
        break;
      case 'confirm-remove':
        this.ui.set(name, { confirming: false });
        void this.run(name, 'Removing…', () => this.ctx.backend.removeServer(name), `Removed ${name}.`).then(() => {
          if (!this.ctx.servers.some((s) => s.name === name)) this.heading.focus();
        });
        break;
    }
  }

  private async onChange(e: Event): Promise<void> {
    const input = e.target as HTMLInputElement;
    const name = input.dataset.serverClient;
    if (!name) return;
    const client = input.value;
    const cname = clientName(client, this.ctx.clients);
    if (input.checked) {
      await this.run(name, `Adding to ${cname}…`, async () => {
        const r = await this.ctx.backend.installEntry(name, client);
        await this.ctx.loadClients().catch(() => []);
        if (r.errors.length) throw r.errors.map((x) => x.message).join('; ');
      }, `Added ${name} to ${cname}.`);
    } else {
      await this.run(name, `Removing from ${cname}…`, async () => {
        await this.ctx.backend.uninstallEntry(name, client);
        await this.ctx.loadClients().catch(() => []);
      }, `Removed ${name} from ${cname}.`);
    }
  }

  /** Runs one action of a row: busy text while it runs, the error inline. */
  private async run(name: string, busy: string, work: () => Promise<unknown>, done: string): Promise<void> {
    this.setUi(name, { busy, error: undefined, note: undefined });
    this.ctx.announce(busy);
    try {
      await work();
      this.setUi(name, { busy: undefined, note: done });
      this.ctx.announce(done);
    } catch (e) {
      this.setUi(name, { busy: undefined, error: errorText(e) });
      this.ctx.announce('');
    }
    await this.ctx.refreshServers();
  }

  private async copy(name: string): Promise<void> {
    let entry: string;
    try {
      entry = await this.ctx.backend.copyEntry(name);
    } catch (e) {
      this.setUi(name, { error: `Cannot make the entry: ${errorText(e)}` });
      return;
    }
    try {
      await this.ctx.backend.writeClipboard(entry);
      const done = `Copied the Claude Desktop entry for ${name}.`;
      this.setUi(name, { note: done, error: undefined });
      this.ctx.announce(done);
    } catch {
      this.copyText.value = entry;
      openDialog(this.copyDialog);
      this.copyText.focus();
      this.copyText.select();
    }
  }
}

function openDialog(d: HTMLDialogElement): void {
  if (typeof d.showModal === 'function') {
    try {
      d.showModal();
      return;
    } catch {
      // not supported: fall through
    }
  }
  d.setAttribute('open', '');
}

function closeDialog(d: HTMLDialogElement): void {
  if (typeof d.close === 'function') d.close();
  d.removeAttribute('open');
}

type FocusKey = { server: string; action?: string; client?: string; summary?: boolean };

function focusKey(el: HTMLElement): FocusKey | null {
  const server = el.closest<HTMLElement>('[data-server]')?.dataset.server;
  if (!server) return el.id === 'empty-add' ? { server: '' } : null;
  if (el.dataset.action) return { server, action: el.dataset.action };
  if (el instanceof HTMLInputElement && el.dataset.serverClient) return { server, client: el.value };
  if (el.tagName === 'SUMMARY') return { server, summary: true };
  return { server };
}

function restoreFocus(body: HTMLElement, k: FocusKey): void {
  const row = body.querySelector<HTMLElement>(`[data-server="${attr(k.server)}"]`);
  if (!row) return;
  let target: HTMLElement | null = null;
  if (k.action) target = row.querySelector(`[data-action="${attr(k.action)}"]`);
  else if (k.client) target = row.querySelector(`input[data-server-client][value="${attr(k.client)}"]`);
  else if (k.summary) target = row.querySelector('summary');
  // A button that went away (sign in → sign out): the row's first button.
  (target ?? row.querySelector<HTMLElement>('button'))?.focus();
}
