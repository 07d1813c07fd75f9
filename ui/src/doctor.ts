// The doctor report (`tether doctor --json`, the `diagnose` command) as the
// window shows it: the verdict first, then each check with what it saw, the
// fix and the clients it breaks.

import type { DoctorReport, Finding, Level } from './api';
import { h } from './dom';
import { plural } from './logic';

export const LEVEL_LABELS: Record<Level, string> = {
  ok: 'OK',
  skipped: 'Skipped',
  warning: 'Warning',
  error: 'Error',
};

const LEVEL_ICONS: Record<Level, string> = { ok: '✓', skipped: '–', warning: '!', error: '✕' };

/** Names of the clients a finding can break (core `doctor::Affected::name`). */
export const BREAKS_NAMES: Record<string, string> = {
  'claude-connectors': 'Claude Desktop and claude.ai connectors',
  'claude-code': 'Claude Code',
  'mcp-remote': 'mcp-remote',
  tether: 'Tether',
  cursor: 'Cursor',
  vscode: 'VS Code',
};

/** A report whose summary may be missing: `tether doctor` always sends
 * one, but the verdict holds for findings alone (it counts them). */
export type Verdictable = Omit<DoctorReport, 'summary'> & Partial<Pick<DoctorReport, 'summary'>>;

export function counts(report: Verdictable): DoctorReport['summary'] {
  if (report.summary) return report.summary;
  const c = { ok: 0, skipped: 0, warnings: 0, errors: 0 };
  for (const f of report.findings) {
    if (f.level === 'ok') c.ok++;
    else if (f.level === 'skipped') c.skipped++;
    else if (f.level === 'warning') c.warnings++;
    else c.errors++;
  }
  return c;
}

/** The verdict in a few words, like `tether doctor`'s first line. */
export function verdict(report: Verdictable): string {
  const { errors, warnings, ok, skipped } = counts(report);
  let v: string;
  if (!errors && !warnings) v = 'All checks passed';
  else if (!warnings) v = plural(errors, 'error');
  else if (!errors) v = plural(warnings, 'warning');
  else v = `${plural(errors, 'error')}, ${plural(warnings, 'warning')}`;
  const rest = [`${ok} ok`];
  if (skipped) rest.push(`${skipped} skipped`);
  return `${v} (${rest.join(', ')})`;
}

/** The worst level of the report. */
export function worst(report: Verdictable): Level {
  const c = counts(report);
  return c.errors ? 'error' : c.warnings ? 'warning' : 'ok';
}

export function renderFinding(f: Finding): HTMLElement {
  return h(
    'li',
    { class: `finding level-${f.level}`, 'data-finding': f.id, 'data-level': f.level },
    h(
      'p',
      { class: 'finding-title' },
      h('span', { class: `badge level-${f.level}` }, `${LEVEL_ICONS[f.level]} ${LEVEL_LABELS[f.level]}`),
      ' ',
      h('strong', {}, f.title),
    ),
    h('dl', {},
      f.saw ? [h('dt', {}, 'Saw'), h('dd', {}, f.saw)] : null,
      f.fix ? [h('dt', {}, 'Fix'), h('dd', { class: 'fix' }, f.fix)] : null,
      f.breaks.length
        ? [h('dt', {}, 'Breaks'), h('dd', { class: 'breaks' }, f.breaks.map((b) => BREAKS_NAMES[b] ?? b).join(', '))]
        : null,
    ),
    f.example ? h('details', {}, h('summary', {}, 'Example'), h('pre', {}, f.example)) : null,
  );
}

/** The whole report: the verdict, then the problems, then what passed. */
export function renderReport(report: DoctorReport): HTMLElement {
  const level = worst(report);
  return h(
    'div',
    { class: 'doctor-report', 'data-level': level },
    h('p', { id: 'diagnose-summary', class: `verdict level-${level}` },
      h('span', { class: `badge level-${level}` }, `${LEVEL_ICONS[level]} ${LEVEL_LABELS[level]}`),
      ' ',
      verdict(report),
      ' — ',
      h('span', { class: 'url' }, report.url),
    ),
    h('ol', { class: 'findings' }, report.findings.map(renderFinding)),
  );
}
