// Diagnose: `tether doctor` for a server or a URL, the verdict first, and
// "Copy report": the same report in Markdown, for a vendor's issue tracker.

import { errorText } from '../api';
import type { Ctx, ViewName } from '../app';
import { renderReport, verdict } from '../doctor';
import { fill, h, setError } from '../dom';

export class DiagnoseView {
  el: HTMLElement;
  heading: HTMLElement;
  private target = '';
  private back: ViewName = 'servers';
  private status: HTMLElement;
  private report: HTMLElement;
  private error: HTMLElement;
  private again: HTMLButtonElement;
  private copy: HTMLButtonElement;
  private copied: HTMLElement;
  private copyText: HTMLTextAreaElement;
  private markdown = '';
  private seq = 0;

  constructor(private ctx: Ctx) {
    this.heading = h('h2', { id: 'diagnose-title', tabindex: -1 }, 'Diagnose');
    this.status = h('p', { id: 'diagnose-status', class: 'busy', hidden: true });
    this.report = h('div', { id: 'diagnose-report' });
    this.error = h('p', { id: 'diagnose-error', class: 'error', role: 'alert', hidden: true });
    this.again = h('button', { type: 'button', id: 'diagnose-again', onclick: () => void this.run() }, 'Check again');
    this.copy = h('button', { type: 'button', id: 'diagnose-copy', disabled: true, onclick: () => void this.copyReport() }, 'Copy report');
    this.copied = h('p', { id: 'diagnose-copied', role: 'status', hidden: true });
    // Shown only when the clipboard cannot be written: the report to copy by hand.
    this.copyText = h('textarea', { id: 'diagnose-markdown', readonly: true, rows: 10, hidden: true, 'aria-label': 'The report in Markdown' });
    this.el = h('section', { id: 'view-diagnose', class: 'view', 'aria-labelledby': 'diagnose-title', hidden: true },
      h('div', { class: 'view-head' },
        this.heading,
        h('div', { class: 'actions' },
          this.copy,
          this.again,
          h('button', { type: 'button', id: 'diagnose-back', onclick: () => this.ctx.show(this.back, { focus: true, resume: true }) }, 'Back'),
        ),
      ),
      this.status,
      this.error,
      this.copied,
      this.copyText,
      this.report,
    );
  }

  enter(opts: { target?: string; back?: ViewName }): void {
    if (!opts.target) return;
    this.back = opts.back ?? 'servers';
    if (opts.target === this.target && this.report.childElementCount) return;
    this.target = opts.target;
    void this.run();
  }

  async run(): Promise<void> {
    const seq = ++this.seq;
    const target = this.target;
    this.heading.textContent = `Diagnose ${target}`;
    fill(this.report);
    setError(this.error, null);
    this.markdown = '';
    this.copy.disabled = true;
    this.copied.hidden = true;
    this.copyText.hidden = true;
    fill(this.status, h('span', { class: 'spinner', 'aria-hidden': 'true' }), `Checking ${target}… this takes up to a minute.`);
    this.status.hidden = false;
    this.again.disabled = true;
    this.ctx.announce(`Checking ${target}…`);
    try {
      const { report, markdown } = await this.ctx.backend.diagnose(target);
      if (seq !== this.seq) return;
      fill(this.report, renderReport(report));
      this.markdown = markdown;
      this.copy.disabled = false;
      this.ctx.announce(`Diagnosis of ${target}: ${verdict(report)}.`);
    } catch (e) {
      if (seq !== this.seq) return;
      setError(this.error, `Cannot diagnose ${target}: ${errorText(e)}`);
      this.ctx.announce('');
    } finally {
      if (seq === this.seq) {
        this.status.hidden = true;
        this.again.disabled = false;
      }
    }
  }

  /** Puts the Markdown report on the clipboard; when that fails, shows it
   * selected, to copy by hand. */
  async copyReport(): Promise<void> {
    if (!this.markdown) return;
    this.copyText.value = this.markdown;
    try {
      await this.ctx.backend.writeClipboard(this.markdown);
      this.copyText.hidden = true;
      this.copied.textContent = 'Report copied as Markdown: paste it into the server\'s issue tracker. It holds no token or secret.';
    } catch {
      this.copyText.hidden = false;
      this.copyText.select();
      this.copied.textContent = 'The clipboard is not available: the report is selected below, press Ctrl+C (⌘C) to copy it.';
    }
    this.copied.hidden = false;
    this.ctx.announce(this.copied.textContent);
  }
}
