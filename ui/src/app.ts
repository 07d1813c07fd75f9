// The window: a header with the views, the wiped-config banner, the views,
// and a status line that screen readers hear (aria-live="polite").

import { errorText, type Backend, type ClientRow, type NavigateTo, type ServerRow, type Unlisten } from './api';
import { byId, fill, h, setError } from './dom';
import { CLAUDE_DESKTOP, nowSecs, plural, wipedMessage } from './logic';
import { AddView } from './views/add';
import { DiagnoseView } from './views/diagnose';
import { LogsView } from './views/logs';
import { ServersView } from './views/servers';
import { SettingsView } from './views/settings';

export type ViewName = 'servers' | 'add' | 'settings' | 'logs' | 'diagnose';

export interface ShowOptions {
  /** The server (or URL) to diagnose; with "add", the server to edit. */
  target?: string;
  /** Where Diagnose's Back goes. */
  back?: ViewName;
  focus?: boolean;
  /** Coming back (Diagnose's Back): the view stays as it was left. */
  resume?: boolean;
}

/** What the views share. */
export interface Ctx {
  backend: Backend;
  now(): number;
  servers: ServerRow[];
  clients: ClientRow[];
  /** Says something in the status line (and to screen readers). */
  announce(message: string): void;
  show(view: ViewName, opts?: ShowOptions): void;
  refreshServers(): Promise<void>;
  loadClients(): Promise<ClientRow[]>;
  /** Restarts Claude Desktop from `button`, the error shown in `error`. */
  restartClaude(button: HTMLButtonElement, error: HTMLElement, done?: () => void): Promise<void>;
}

export interface AppOptions {
  now?: () => number;
  /** Re-render the time left this often (ms); 0 to never. */
  tick?: number;
  /** How long the status line stays (ms); 0 for ever. */
  statusMs?: number;
}

interface View {
  el: HTMLElement;
  heading: HTMLElement;
  enter(opts: { target?: string; back?: ViewName; resume?: boolean }): void;
  /** Where the focus goes on entering; the heading if absent. */
  focus?(): void;
  /** The location hash for what the view shows; `#<view>` if absent. */
  hash?(): string;
}

const NAV: { view: Exclude<ViewName, 'diagnose'>; label: string }[] = [
  { view: 'servers', label: 'Servers' },
  { view: 'add', label: 'Add server' },
  { view: 'settings', label: 'Settings' },
  { view: 'logs', label: 'Logs' },
];

export class App implements Ctx {
  servers: ServerRow[] = [];
  clients: ClientRow[] = [];
  current: ViewName = 'servers';
  readonly root: HTMLElement;
  readonly backend: Backend;
  readonly now: () => number;
  readonly serversView: ServersView;
  readonly addView: AddView;
  readonly settingsView: SettingsView;
  readonly logsView: LogsView;
  readonly diagnoseView: DiagnoseView;
  private views: Record<ViewName, View>;
  private status: HTMLElement;
  private banner: HTMLElement;
  private unlisten: Unlisten[] = [];
  private refreshing: Promise<void> | null = null;
  private again = false;
  private timer: ReturnType<typeof setInterval> | null = null;
  private dismissedWipe = '';
  private statusTimer: ReturnType<typeof setTimeout> | null = null;
  private statusMs: number;

  constructor(root: HTMLElement, backend: Backend, opts: AppOptions = {}) {
    this.root = root;
    this.backend = backend;
    this.now = opts.now ?? nowSecs;
    this.statusMs = opts.statusMs ?? 6000;
    this.serversView = new ServersView(this);
    this.addView = new AddView(this);
    this.settingsView = new SettingsView(this);
    this.logsView = new LogsView(this);
    this.diagnoseView = new DiagnoseView(this);
    this.views = {
      servers: this.serversView,
      add: this.addView,
      settings: this.settingsView,
      logs: this.logsView,
      diagnose: this.diagnoseView,
    };
    this.status = h('p', { id: 'status', class: 'status', role: 'status', 'aria-live': 'polite' });
    this.banner = h('section', { id: 'banner-wiped', class: 'banner', 'aria-labelledby': 'banner-wiped-text', hidden: true });
    const nav = h(
      'nav',
      { 'aria-label': 'Views' },
      h('ul', {}, NAV.map((n) =>
        h('li', {}, h('button', { type: 'button', id: `nav-${n.view}`, 'data-view': n.view, onclick: () => this.show(n.view, { focus: true }) }, n.label)),
      )),
    );
    fill(
      root,
      h('a', { class: 'skip', href: '#main' }, 'Skip to content'),
      h('header', { class: 'top' }, h('h1', {}, 'Tether'), nav),
      this.banner,
      h('main', { id: 'main', tabindex: -1 }, Object.values(this.views).map((v) => v.el)),
      h('footer', {}, this.status),
    );
    if (opts.tick !== 0) {
      this.timer = setInterval(() => this.serversView.render(), opts.tick ?? 30_000);
    }
  }

  /** Loads what the first view needs and starts listening. */
  async start(): Promise<void> {
    window.addEventListener('hashchange', this.onHash);
    this.unlisten.push(
      await this.backend.onServersChanged(() => void this.refreshServers()),
      await this.backend.onClaudeConfigWiped((missing) => this.showWiped(missing)),
      await this.backend.onNavigate((to) => this.navigate(to)),
    );
    const route = parseHash(location.hash);
    this.show(route.view, { target: route.target, focus: false });
    await Promise.all([this.refreshServers(), this.loadClients().catch(() => [])]);
  }

  stop(): void {
    window.removeEventListener('hashchange', this.onHash);
    for (const u of this.unlisten) u();
    this.unlisten = [];
    if (this.timer) clearInterval(this.timer);
    if (this.statusTimer) clearTimeout(this.statusTimer);
  }

  private onHash = (): void => {
    const route = parseHash(location.hash);
    this.show(route.view, { target: route.target, focus: true });
  };

  /** What the tray asks for. */
  navigate(to: NavigateTo): void {
    if (typeof to === 'object' && to && 'diagnose' in to) this.show('diagnose', { target: to.diagnose, back: 'servers', focus: true });
    else if (to === 'add' || to === 'settings' || to === 'servers' || to === 'logs') this.show(to, { focus: true });
  }

  show(view: ViewName, opts: ShowOptions = {}): void {
    if (view === 'diagnose' && !opts.target) view = 'servers';
    this.current = view;
    for (const [name, v] of Object.entries(this.views)) v.el.hidden = name !== view;
    const v = this.views[view];
    v.enter({ target: opts.target, back: opts.back, resume: opts.resume });
    // Editing a server is not "Add server".
    const current = view === 'add' && this.addView.editing ? null : view;
    for (const n of NAV) {
      const b = byId(`nav-${n.view}`, this.root);
      if (n.view === current) b.setAttribute('aria-current', 'page');
      else b.removeAttribute('aria-current');
    }
    const hash = v.hash?.() ?? (view === 'diagnose' ? `#diagnose=${encodeURIComponent(opts.target ?? '')}` : `#${view}`);
    if (location.hash !== hash) history.replaceState(null, '', hash);
    if (opts.focus) {
      if (v.focus) v.focus();
      else v.heading.focus();
    }
  }

  announce(message: string): void {
    // Cleared first so that the same words twice are heard twice.
    this.status.textContent = '';
    this.status.textContent = message;
    // The words stay on screen a while, not over the window for ever.
    if (this.statusTimer) clearTimeout(this.statusTimer);
    this.statusTimer = message && this.statusMs ? setTimeout(() => (this.status.textContent = ''), this.statusMs) : null;
  }

  /** Reads the servers again; calls made while one runs are folded into one more. */
  refreshServers(): Promise<void> {
    if (this.refreshing) {
      this.again = true;
      return this.refreshing;
    }
    const run = async (): Promise<void> => {
      do {
        this.again = false;
        let loaded = false;
        try {
          this.servers = await this.backend.listServers();
          this.serversView.setLoadError(null);
          loaded = true;
        } catch (e) {
          this.serversView.setLoadError(`Cannot read the servers: ${errorText(e)}`);
        }
        this.serversView.render();
        this.addView.updateServers(loaded);
        this.logsView.updateSources();
      } while (this.again);
    };
    this.refreshing = run().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  async loadClients(): Promise<ClientRow[]> {
    this.clients = await this.backend.listClients();
    this.addView.updateClients();
    this.settingsView.updateClients();
    this.serversView.render();
    return this.clients;
  }

  /** Claude Desktop dropped our servers from its config: offer to put them back. */
  showWiped(missing: string[]): void {
    const key = [...missing].sort().join('\n');
    if (!missing.length) {
      this.banner.hidden = true;
      return;
    }
    if (key === this.dismissedWipe) return;
    const wasHidden = this.banner.hidden;
    const error = h('p', { class: 'error', role: 'alert', hidden: true });
    const putBack = h('button', { type: 'button', id: 'banner-put-back', class: 'primary' }, 'Put them back');
    const dismiss = h('button', { type: 'button', id: 'banner-dismiss' }, 'Dismiss');
    const text = h('p', { id: 'banner-wiped-text' }, h('span', { 'aria-hidden': 'true' }, '⚠ '), wipedMessage(missing));
    const actions = h('div', { class: 'actions' }, putBack, dismiss);
    putBack.addEventListener('click', async () => {
      putBack.disabled = true;
      setError(error, null);
      try {
        const r = await this.backend.setUpClient(CLAUDE_DESKTOP);
        if (r.errors.length) throw r.errors.map((e) => e.message).join('; ');
        fill(text, `Put back ${plural(missing.length, 'server')} in Claude Desktop. Restart Claude Desktop so that it reads them.`);
        const restart = h('button', { type: 'button', id: 'banner-restart', class: 'primary' }, 'Restart Claude Desktop');
        restart.addEventListener('click', () => this.restartClaude(restart, error, () => (this.banner.hidden = true)));
        fill(actions, restart, dismiss);
        restart.focus();
        this.announce(`Put back ${plural(missing.length, 'server')} in Claude Desktop.`);
        void this.refreshServers();
      } catch (e) {
        putBack.disabled = false;
        setError(error, `Cannot put them back: ${errorText(e)}`);
      }
    });
    dismiss.addEventListener('click', () => {
      this.dismissedWipe = key;
      this.banner.hidden = true;
      this.views[this.current].heading.focus();
    });
    fill(this.banner, text, actions, error);
    this.banner.dataset.missing = missing.join(',');
    this.banner.hidden = false;
    if (wasHidden) this.announce(wipedMessage(missing));
  }

  /** Restarts Claude Desktop from `button`, saying how it went. */
  async restartClaude(button: HTMLButtonElement, error: HTMLElement, done?: () => void): Promise<void> {
    button.disabled = true;
    setError(error, null);
    this.announce('Restarting Claude Desktop…');
    try {
      await this.backend.restartClaudeDesktop();
      this.announce('Claude Desktop restarted.');
      done?.();
    } catch (e) {
      setError(error, `Cannot restart Claude Desktop: ${errorText(e)}`);
      this.announce('');
    } finally {
      button.disabled = false;
    }
  }
}

/** The view a location hash names: "#add", "#diagnose=linear", "#edit=linear"
 * (the add view, editing that server). */
export function parseHash(hash: string): { view: ViewName; target?: string } {
  const raw = hash.replace(/^#/, '');
  if (raw.startsWith('diagnose=')) return { view: 'diagnose', target: decodeURIComponent(raw.slice('diagnose='.length)) };
  if (raw.startsWith('edit=')) {
    const target = decodeURIComponent(raw.slice('edit='.length));
    return target ? { view: 'add', target } : { view: 'add' };
  }
  if (raw === 'add' || raw === 'settings' || raw === 'logs' || raw === 'servers') return { view: raw };
  return { view: 'servers' };
}

/** Builds the window in `root` and starts it. */
export async function startApp(root: HTMLElement, backend: Backend, opts: AppOptions = {}): Promise<App> {
  const app = new App(root, backend, opts);
  await app.start();
  return app;
}
