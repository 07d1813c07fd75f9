// Diagnose: `tether doctor` for a server or a URL, the verdict first.

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
  private seq = 0;

  constructor(private ctx: Ctx) {
    this.heading = h('h2', { id: 'diagnose-title', tabindex: -1 }, 'Diagnose');
    this.status = h('p', { id: 'diagnose-status', class: 'busy', hidden: true });
    this.report = h('div', { id: 'diagnose-report' });
    this.error = h('p', { id: 'diagnose-error', class: 'error', role: 'alert', hidden: true });
    this.again = h('button', { type: 'button', id: 'diagnose-again', onclick: () => void this.run() }, 'Check again');
    this.el = h('section', { id: 'view-diagnose', class: 'view', 'aria-labelledby': 'diagnose-title', hidden: true },
      h('div', { class: 'view-head' },
        this.heading,
        h('div', { class: 'actions' },
          this.again,
          h('button', { type: 'button', id: 'diagnose-back', onclick: () => this.ctx.show(this.back, { focus: true, resume: true }) }, 'Back'),
        ),
      ),
      this.status,
      this.error,
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
    fill(this.status, h('span', { class: 'spinner', 'aria-hidden': 'true' }), `Checking ${target}… this takes up to a minute.`);
    this.status.hidden = false;
    this.again.disabled = true;
    this.ctx.announce(`Checking ${target}…`);
    try {
      const report = await this.ctx.backend.diagnose(target);
      if (seq !== this.seq) return;
      fill(this.report, renderReport(report));
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
}
