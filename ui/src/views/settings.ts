// Settings: the clients to configure, the Client ID Metadata Document URL,
// start at login and the log level.

// `Settings` here: the values (the generated `SettingsView`), not this view.
import { errorText, type SettingsView as Settings } from '../api';
import type { Ctx } from '../app';
import { fill, h, setError } from '../dom';
import { CLAUDE_DESKTOP, settingsProblems } from '../logic';

export class SettingsView {
  el: HTMLElement;
  heading: HTMLElement;
  private form: HTMLFormElement;
  private clientsBox: HTMLElement;
  private cimd: HTMLInputElement;
  private cimdError: HTMLElement;
  private login: HTMLInputElement;
  private level: HTMLSelectElement;
  private save: HTMLButtonElement;
  private error: HTMLElement;
  private saved: HTMLElement;
  private setupError: HTMLElement;
  private loaded: Settings | null = null;
  /** The user changed something not saved yet: a reload keeps it. */
  private dirty = false;

  constructor(private ctx: Ctx) {
    this.heading = h('h2', { id: 'settings-title', tabindex: -1 }, 'Settings');
    this.clientsBox = h('div', { id: 'settings-clients', class: 'checks' });
    this.cimd = h('input', {
      id: 'settings-cimd', name: 'client-metadata-url', type: 'url', inputmode: 'url', spellcheck: 'false',
      placeholder: 'https://example.com/tether-client.json', 'aria-describedby': 'settings-cimd-hint settings-cimd-error',
    });
    this.cimdError = h('p', { id: 'settings-cimd-error', class: 'error', role: 'alert', hidden: true });
    this.cimd.addEventListener('input', () => {
      this.cimd.removeAttribute('aria-invalid');
      setError(this.cimdError, null);
    });
    this.cimd.addEventListener('blur', () => void this.checkCimd());
    this.login = h('input', { id: 'settings-login', name: 'start-at-login', type: 'checkbox' });
    this.level = h('select', { id: 'settings-log-level', name: 'log-level', 'aria-describedby': 'settings-log-level-hint' },
      h('option', { value: 'info' }, 'Info'),
      h('option', { value: 'debug' }, 'Debug (more detail, for reporting a problem)'),
    );
    this.save = h('button', { type: 'submit', id: 'settings-save', class: 'primary' }, 'Save');
    this.error = h('p', { id: 'settings-error', class: 'error', role: 'alert', hidden: true });
    this.saved = h('p', { id: 'settings-saved', class: 'note', hidden: true });
    this.setupError = h('p', { class: 'error', role: 'alert', hidden: true });
    this.form = h('form', { id: 'settings-form', novalidate: true },
      h('fieldset', {},
        h('legend', {}, 'MCP clients to set up'),
        h('p', { class: 'hint', id: 'settings-clients-hint' }, 'New servers are added to these. With none ticked, Tether picks Claude Desktop and every client it finds.'),
        this.clientsBox,
      ),
      h('label', { for: 'settings-cimd' }, 'Client ID Metadata Document URL'),
      this.cimd,
      h('p', { id: 'settings-cimd-hint', class: 'hint' }, 'Optional. An https URL where you publish Tether’s client metadata, for servers that accept it instead of registering a client.'),
      this.cimdError,
      h('div', { class: 'check' }, this.login, h('label', { for: 'settings-login' }, 'Start Tether at login')),
      h('label', { for: 'settings-log-level' }, 'Log level'),
      this.level,
      h('p', { id: 'settings-log-level-hint', class: 'hint' }, 'For the app and the bridges Claude starts; logs never hold tokens.'),
      h('div', { class: 'actions' }, this.save),
      this.error,
      this.saved,
    );
    this.form.addEventListener('input', () => {
      this.dirty = true;
      this.saved.hidden = true;
    });
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.submit();
    });
    const setup = h('button', { type: 'button', id: 'settings-setup-claude' }, 'Add every server to Claude Desktop');
    setup.addEventListener('click', async () => {
      setup.disabled = true;
      setError(this.setupError, null);
      try {
        const r = await this.ctx.backend.setUpClient(CLAUDE_DESKTOP);
        if (r.errors.length) setError(this.setupError, r.errors.map((e) => e.message).join(' '));
        else this.ctx.announce('Claude Desktop has every server. Restart it to use them.');
        void this.ctx.refreshServers();
      } catch (e) {
        setError(this.setupError, errorText(e));
      } finally {
        setup.disabled = false;
      }
    });
    this.el = h('section', { id: 'view-settings', class: 'view', 'aria-labelledby': 'settings-title', hidden: true },
      this.heading,
      this.form,
      h('section', { 'aria-labelledby': 'settings-claude-title', class: 'sub' },
        h('h3', { id: 'settings-claude-title' }, 'Claude Desktop'),
        h('div', { class: 'actions' },
          setup,
          h('button', { type: 'button', id: 'settings-restart-claude', onclick: (e: Event) => void this.ctx.restartClaude(e.currentTarget as HTMLButtonElement, this.setupError) }, 'Restart Claude Desktop'),
        ),
        this.setupError,
      ),
    );
  }

  enter(): void {
    if (!this.dirty) void this.load();
  }

  async load(): Promise<void> {
    setError(this.error, null);
    try {
      this.loaded = await this.ctx.backend.getSettings();
    } catch (e) {
      setError(this.error, `Cannot read the settings: ${errorText(e)}`);
      return;
    }
    if (this.dirty) return;
    this.cimd.value = this.loaded.client_metadata_url ?? '';
    this.login.checked = this.loaded.start_at_login;
    this.level.value = this.loaded.log_level === 'debug' ? 'debug' : 'info';
    this.updateClients();
  }

  updateClients(): void {
    const ticked = this.dirty ? this.checkedClients() : (this.loaded?.clients ?? []);
    fill(this.clientsBox, this.ctx.clients.map((c) => {
      const id = `settings-client-${c.id}`;
      return h('div', { class: 'check' },
        h('input', { type: 'checkbox', id, name: 'settings-client', value: c.id, checked: ticked.includes(c.id) }),
        h('label', { for: id }, c.name, c.installed ? '' : h('span', { class: 'aside' }, ' (not found on this computer)')),
      );
    }));
  }

  private checkedClients(): string[] {
    return [...this.clientsBox.querySelectorAll<HTMLInputElement>('input[name=settings-client]:checked')].map((i) => i.value);
  }

  /** Asks the app whether the URL can be a Client ID Metadata Document's
   * (the sign-in's own rule, in Rust) and shows its answer; true when it can.
   * An empty field means no URL: nothing to ask. */
  private async checkCimd(): Promise<boolean> {
    const url = this.cimd.value.trim();
    const problem = url ? await this.askCimd(url) : null;
    // The user typed on while the app answered: the answer is about a URL
    // that is gone, and the next blur or save asks again.
    if (this.cimd.value.trim() !== url) return false;
    setError(this.cimdError, problem);
    if (problem) this.cimd.setAttribute('aria-invalid', 'true');
    else this.cimd.removeAttribute('aria-invalid');
    return !problem;
  }

  /** The app's answer, or null when it cannot answer: `set_settings` applies
   * the same rule, so a save still cannot store a bad URL. */
  private async askCimd(url: string): Promise<string | null> {
    try {
      return await this.ctx.backend.checkMetadataUrl(url);
    } catch {
      return null;
    }
  }

  read(): Settings {
    const url = this.cimd.value.trim();
    return {
      clients: this.checkedClients(),
      client_metadata_url: url || null,
      start_at_login: this.login.checked,
      log_level: this.level.value === 'debug' ? 'debug' : 'info',
    };
  }

  async submit(): Promise<void> {
    const s = this.read();
    const problems = settingsProblems(s);
    setError(this.error, null);
    this.saved.hidden = true;
    if (problems.log_level) {
      setError(this.error, problems.log_level);
      return;
    }
    // Disabled from the URL check on: a second press cannot save twice.
    this.save.disabled = true;
    try {
      if (!(await this.checkCimd())) {
        this.cimd.focus();
        return;
      }
      await this.ctx.backend.setSettings(s);
      this.loaded = s;
      this.dirty = false;
      this.saved.textContent = 'Saved.';
      this.saved.hidden = false;
      this.ctx.announce('Settings saved.');
    } catch (e) {
      setError(this.error, `Cannot save: ${errorText(e)}`);
    } finally {
      this.save.disabled = false;
    }
  }
}
