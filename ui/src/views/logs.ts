// Logs: the tail of the app's log or one server's.

import { errorText } from '../api';
import type { Ctx } from '../app';
import { fill, h, setError } from '../dom';

export class LogsView {
  el: HTMLElement;
  heading: HTMLElement;
  private source: HTMLSelectElement;
  private text: HTMLPreElement;
  private error: HTMLElement;
  private refresh: HTMLButtonElement;
  private seq = 0;

  constructor(private ctx: Ctx) {
    this.heading = h('h2', { id: 'logs-title', tabindex: -1 }, 'Logs');
    this.source = h('select', { id: 'logs-source', name: 'log' }, h('option', { value: '' }, 'Tether app'));
    this.source.addEventListener('change', () => void this.load());
    this.refresh = h('button', { type: 'button', id: 'logs-refresh' }, 'Refresh');
    this.refresh.addEventListener('click', () => void this.load());
    this.error = h('p', { id: 'logs-error', class: 'error', role: 'alert', hidden: true });
    // A scrollable region: focusable so that the keyboard can scroll it.
    this.text = h('pre', { id: 'logs-text', class: 'log', tabindex: 0, role: 'region', 'aria-label': 'Log' });
    this.el = h('section', { id: 'view-logs', class: 'view', 'aria-labelledby': 'logs-title', hidden: true },
      this.heading,
      h('div', { class: 'inline' },
        h('label', { for: 'logs-source' }, 'Log of'),
        this.source,
        this.refresh,
      ),
      this.error,
      this.text,
    );
  }

  enter(): void {
    this.updateSources();
    void this.load();
  }

  /** The servers as choices, keeping the one picked. */
  updateSources(): void {
    const picked = this.source.value;
    fill(this.source,
      h('option', { value: '' }, 'Tether app'),
      this.ctx.servers.map((s) => h('option', { value: s.name }, `Server: ${s.name}`)),
    );
    this.source.value = this.ctx.servers.some((s) => s.name === picked) ? picked : '';
  }

  async load(): Promise<void> {
    const seq = ++this.seq;
    const name = this.source.value || null;
    setError(this.error, null);
    this.refresh.disabled = true;
    try {
      const text = await this.ctx.backend.readLogs(name);
      if (seq !== this.seq) return;
      this.text.textContent = text || '(The log is empty.)';
      this.text.scrollTop = this.text.scrollHeight;
    } catch (e) {
      if (seq === this.seq) setError(this.error, `Cannot read the log: ${errorText(e)}`);
    } finally {
      if (seq === this.seq) this.refresh.disabled = false;
    }
  }
}
