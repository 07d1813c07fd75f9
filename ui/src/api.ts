// The window's only door to the app: the Tauri commands of
// src-tauri/src/commands.rs and the events of src-tauri/src/watch.rs, behind
// the `Backend` interface so that everything else runs (and is tested)
// without Tauri.

export type AuthKind = 'oauth' | 'bearer' | 'none';
export type StateName = 'ready' | 'signed-in' | 'needs-sign-in' | 'signing-in' | 'error';

/** A server as `list_servers` returns it (core `ServerView` + clients). */
export interface ServerRow {
  name: string;
  url: string;
  auth: AuthKind;
  state: StateName;
  /** Unix seconds, with `signed-in`. */
  expires_at?: number | null;
  /** With `error`. */
  message?: string;
  issuer: string | null;
  scopes: string | null;
  signed_in_at: number | null;
  last_error: string | null;
  /** The header a token server sends its token in, when the backend says
   * (Edit keeps it; "Authorization" when absent). */
  token_header?: string | null;
  /** Ids of the MCP clients whose config runs it. */
  clients: string[];
}

/** What `probe_server` found (core `probe::Probe`). */
export interface Probe {
  kind: 'oauth' | 'token' | 'open';
  server_name: string | null;
  issuer: string | null;
  legacy_sse: boolean;
  summary: string;
}

export interface AddRequest {
  name: string;
  url: string;
  auth: AuthKind;
  token: string | null;
  token_header: string | null;
  clients: string[];
  /** Editing a server with a token: no token given (`token` null), keep
   * the one in the keychain. Always sent; false for a new server. */
  keep_token: boolean;
}

export interface InstallResult {
  installed: { client: string; path: string }[];
  errors: { client: string; message: string }[];
}

export interface ClientRow {
  id: string;
  name: string;
  installed: boolean;
  path: string | null;
  configured: string[];
}

export interface ImportRow {
  client: string;
  file: string;
  name: string;
  url: string;
  token_header: string | null;
  has_secret: boolean;
}

export interface Pick {
  client: string;
  name: string;
}

export interface ImportResult {
  imported: string[];
  errors: { name: string; message: string }[];
}

export interface Settings {
  clients: string[];
  client_metadata_url: string | null;
  start_at_login: boolean;
  log_level: 'info' | 'debug';
}

export type Level = 'ok' | 'skipped' | 'warning' | 'error';

/** One check of `tether doctor --json`. */
export interface Finding {
  id: string;
  level: Level;
  title: string;
  saw: string;
  breaks: string[];
  fix: string | null;
  example: string | null;
}

/** `tether doctor --json`, which `diagnose` returns. */
export interface DoctorReport {
  url: string;
  findings: Finding[];
  summary?: { ok: number; skipped: number; warnings: number; errors: number };
}

/** What the tray asks the window to show. */
export type NavigateTo = 'add' | 'settings' | 'servers' | 'logs' | { diagnose: string };

export type Unlisten = () => void;

export interface Backend {
  listServers(): Promise<ServerRow[]>;
  probeServer(url: string): Promise<Probe>;
  addServer(request: AddRequest): Promise<InstallResult>;
  removeServer(name: string): Promise<void>;
  signIn(name: string): Promise<void>;
  signOut(name: string): Promise<void>;
  listClients(): Promise<ClientRow[]>;
  installEntry(name: string, client: string): Promise<InstallResult>;
  uninstallEntry(name: string, client: string): Promise<void>;
  setUpClient(client: string): Promise<InstallResult>;
  importCandidates(): Promise<ImportRow[]>;
  importServers(picks: Pick[]): Promise<ImportResult>;
  getSettings(): Promise<Settings>;
  setSettings(settings: Settings): Promise<void>;
  readLogs(name: string | null): Promise<string>;
  restartClaudeDesktop(): Promise<void>;
  copyEntry(name: string): Promise<string>;
  diagnose(target: string): Promise<DoctorReport>;
  /** Puts text on the clipboard; rejects when it cannot. */
  writeClipboard(text: string): Promise<void>;

  onServersChanged(handler: () => void): Promise<Unlisten>;
  onClaudeConfigWiped(handler: (missing: string[]) => void): Promise<Unlisten>;
  onNavigate(handler: (to: NavigateTo) => void): Promise<Unlisten>;
}

/** A command's error as a sentence (commands reject with plain strings). */
export function errorText(e: unknown): string {
  if (typeof e === 'string') return e;
  if (e instanceof Error) return e.message;
  if (e && typeof e === 'object' && 'message' in e && typeof (e as { message: unknown }).message === 'string') {
    return (e as { message: string }).message;
  }
  try {
    return JSON.stringify(e);
  } catch {
    return String(e);
  }
}

/** Whether the page runs inside Tauri's webview. */
export function inTauri(): boolean {
  return typeof window !== 'undefined' && '__TAURI_INTERNALS__' in window;
}

/** The real backend: Tauri commands and events. Loaded lazily so that the
 * browser preview and the tests never touch `@tauri-apps/api`. */
export async function tauriBackend(): Promise<Backend> {
  const { invoke } = await import('@tauri-apps/api/core');
  const { listen } = await import('@tauri-apps/api/event');
  const call = <T>(cmd: string, args?: Record<string, unknown>) => invoke<T>(cmd, args);
  return {
    listServers: () => call('list_servers'),
    probeServer: (url) => call('probe_server', { url }),
    addServer: (request) => call('add_server', { request }),
    removeServer: (name) => call('remove_server', { name }),
    signIn: (name) => call('sign_in', { name }),
    signOut: (name) => call('sign_out', { name }),
    listClients: () => call('list_clients'),
    installEntry: (name, client) => call('install_entry', { name, client }),
    uninstallEntry: (name, client) => call('uninstall_entry', { name, client }),
    setUpClient: (client) => call('set_up_client', { client }),
    importCandidates: () => call('import_candidates'),
    importServers: (picks) => call('import_servers', { picks }),
    getSettings: () => call('get_settings'),
    setSettings: (settings) => call('set_settings', { settings }),
    readLogs: (name) => call('read_logs', { name }),
    restartClaudeDesktop: () => call('restart_claude_desktop'),
    copyEntry: (name) => call('copy_entry', { name }),
    diagnose: async (target) => {
      const r = await call<DoctorReport | string>('diagnose', { target });
      return typeof r === 'string' ? (JSON.parse(r) as DoctorReport) : r;
    },
    writeClipboard: async (text) => {
      try {
        const { writeText } = await import('@tauri-apps/plugin-clipboard-manager');
        await writeText(text);
      } catch (e) {
        if (navigator.clipboard) await navigator.clipboard.writeText(text);
        else throw e;
      }
    },
    onServersChanged: (handler) => listen('servers-changed', () => handler()),
    onClaudeConfigWiped: (handler) =>
      listen<{ missing?: string[] }>('claude-config-wiped', (e) => handler(e.payload?.missing ?? [])),
    onNavigate: (handler) => listen<NavigateTo>('navigate', (e) => handler(e.payload)),
  };
}
