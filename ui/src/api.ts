// The window's only door to the app: the Tauri commands of
// src-tauri/src/commands.rs and the events of src-tauri/src/watch.rs, behind
// the `Backend` interface so that everything else runs (and is tested)
// without Tauri.

// The shapes exchanged with the app are generated from its Rust types
// (bindings.ts, by ts-rs; a Rust test fails when they drift).
import type {
  AddRequest,
  ClientRow,
  Diagnosis,
  ImportCandidate,
  ImportReport,
  InstallReport,
  Pick,
  Probe,
  ServerRow,
  SettingsView,
} from './bindings';

export type {
  AddRequest,
  AuthKind,
  ClientRow,
  Diagnosis,
  DoctorReport,
  Finding,
  ImportCandidate,
  ImportReport,
  InstallReport,
  Level,
  LogLevel,
  Pick,
  Probe,
  ServerRow,
  ServerState,
  SettingsView,
} from './bindings';

/** The name of a server's state (`ServerState`'s tag). */
export type StateName = ServerRow['state'];

/** What the tray asks the window to show. */
export type NavigateTo = 'add' | 'settings' | 'servers' | 'logs' | { diagnose: string };

export type Unlisten = () => void;

export interface Backend {
  listServers(): Promise<ServerRow[]>;
  probeServer(url: string): Promise<Probe>;
  addServer(request: AddRequest): Promise<InstallReport>;
  removeServer(name: string): Promise<void>;
  signIn(name: string): Promise<void>;
  signOut(name: string): Promise<void>;
  listClients(): Promise<ClientRow[]>;
  installEntry(name: string, client: string): Promise<InstallReport>;
  /** Gives a client with a headers hook (Claude Code) the server's HTTP entry:
   * `tether install --client <client> --http <name>` through the sidecar. */
  installHttpEntry(name: string, client: string): Promise<InstallReport>;
  uninstallEntry(name: string, client: string): Promise<void>;
  setUpClient(client: string): Promise<InstallReport>;
  importCandidates(): Promise<ImportCandidate[]>;
  importServers(picks: Pick[]): Promise<ImportReport>;
  /** Deletes mcp-remote's plain-text token cache; resolves to the folder
   * deleted, or null when there was none. */
  deleteMcpAuthCache(): Promise<string | null>;
  getSettings(): Promise<SettingsView>;
  setSettings(settings: SettingsView): Promise<void>;
  /** Why a Client ID Metadata Document URL cannot be used (the sign-in's own rule), or null. */
  checkMetadataUrl(url: string): Promise<string | null>;
  readLogs(name: string | null): Promise<string>;
  restartClaudeDesktop(): Promise<void>;
  copyEntry(name: string): Promise<string>;
  /** `tether doctor`'s report, and the same in Markdown ("Copy report"). */
  diagnose(target: string): Promise<Diagnosis>;
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
    installHttpEntry: (name, client) => call('install_http_entry', { name, client }),
    uninstallEntry: (name, client) => call('uninstall_entry', { name, client }),
    setUpClient: (client) => call('set_up_client', { client }),
    importCandidates: () => call('import_candidates'),
    importServers: (picks) => call('import_servers', { picks }),
    deleteMcpAuthCache: () => call('delete_mcp_auth_cache'),
    getSettings: () => call('get_settings'),
    setSettings: (settings) => call('set_settings', { settings }),
    checkMetadataUrl: (url) => call('check_metadata_url', { url }),
    readLogs: (name) => call('read_logs', { name }),
    restartClaudeDesktop: () => call('restart_claude_desktop'),
    copyEntry: (name) => call('copy_entry', { name }),
    diagnose: (target) => call('diagnose', { target }),
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
