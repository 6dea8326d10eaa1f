import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as prettier from 'prettier';
import type { CpuShare } from './cpu';
import { round, type Summary } from './stats';

/** One line of results.json: the required keys first, then what explains the line. */
export interface Metric extends Omit<Summary, 'rps'> {
  /** Null for a derived line that is not a stream of requests. */
  rps: number | null;
  floor_p50_ms: number | null;
  ratio: number | null;
  what: string;
  floor?: string;
  cpu?: CpuShare;
}

export interface Goal {
  metric: string;
  goal: string;
  result: 'PASS' | 'MISS';
  measured: string;
}

export interface Results {
  date: string;
  node: string;
  cpus: number;
  cpu_model: string;
  setup: string[];
  metrics: Record<string, Metric>;
  goals: Goal[];
  notes: string[];
}

export class MetricSet {
  readonly metrics: Record<string, Metric> = {};

  add(
    name: string,
    what: string,
    s: Omit<Summary, 'rps'> & { rps: number | null },
    extra: { floor?: { name: string; p50_ms: number }; cpu?: CpuShare } = {},
  ): Metric {
    const { floor, cpu } = extra;
    const m: Metric = {
      ...s,
      floor_p50_ms: floor ? round(floor.p50_ms) : null,
      ratio: floor && floor.p50_ms > 0 ? round(s.p50_ms / floor.p50_ms, 2) : null,
      what,
      ...(floor ? { floor: floor.name } : {}),
      ...(cpu ? { cpu } : {}),
    };
    this.metrics[name] = m;
    return m;
  }

  /** The metrics in `order`, then any not listed, so a new line is never dropped. */
  ordered(order: readonly string[]): Record<string, Metric> {
    const names = [
      ...order.filter((n) => n in this.metrics),
      ...Object.keys(this.metrics).filter((n) => !order.includes(n)),
    ];
    return Object.fromEntries(names.map((n) => [n, this.metrics[n]]));
  }

  get(name: string): Metric {
    const m = this.metrics[name];
    if (!m) throw new Error(`no metric ${name}`);
    return m;
  }
}

const fmt = (v: number | null, digits = 2): string => (v === null ? '-' : v.toFixed(digits));

/** A Markdown table, padded so it also reads as plain text on a terminal. */
export function renderTable(results: Results): string {
  const head = [
    'metric',
    'N',
    'p50 ms',
    'p99 ms',
    'req/s',
    'floor',
    'floor p50 ms',
    'ratio',
    'cpu % portal/cli/pg/bench/other',
  ];
  const rows = Object.entries(results.metrics).map(([name, m]) => [
    name,
    String(m.n),
    fmt(m.p50_ms),
    fmt(m.p99_ms),
    fmt(m.rps, 1),
    m.floor ?? '-',
    fmt(m.floor_p50_ms),
    m.ratio === null ? '-' : `${m.ratio.toFixed(2)}x`,
    m.cpu
      ? [m.cpu.portal, m.cpu.portal_children, m.cpu.postgres, m.cpu.bench, m.cpu.other].join('/')
      : '-',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const numeric = (i: number): boolean => i !== 0 && i !== 5;
  const line = (cells: string[]): string =>
    `| ${cells.map((c, i) => (numeric(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (numeric(i) ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [line(head), rule, ...rows.map(line)].join('\n');
}

export function renderGoals(goals: Goal[]): string {
  return goals
    .map((g) => `- ${g.result} ${g.metric}: ${g.goal} (measured ${g.measured})`)
    .join('\n');
}

export function renderDefinitions(results: Results): string {
  return Object.entries(results.metrics)
    .map(([name, m]) => `- \`${name}\`: ${m.what}`)
    .join('\n');
}

export function renderText(results: Results): string {
  return [
    `Portal benchmark ${results.date}, node ${results.node}, ${results.cpus} CPUs (${results.cpu_model})`,
    '',
    ...results.setup.map((s) => `- ${s}`),
    '',
    renderTable(results),
    '',
    'Goals (reported, not asserted):',
    renderGoals(results.goals),
    '',
    'Notes:',
    ...results.notes.map((n) => `- ${n}`),
  ].join('\n');
}

export async function writeResults(dir: string, results: Results): Promise<void> {
  await fs.writeFile(path.join(dir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  const md = [
    '# Benchmark results',
    '',
    'Latest `npm run bench` (see `bench/run.ts`). Every portal figure is compared with a floor',
    'measured in the same run on the same machine; ratio = portal p50 / floor p50. Raw numbers:',
    '`bench/results.json`.',
    '',
    `Run: ${results.date}, node ${results.node}, ${results.cpus} CPUs (${results.cpu_model}).`,
    '',
    '## Set-up',
    '',
    ...results.setup.map((s) => `- ${s}`),
    '',
    '## Results',
    '',
    renderTable(results),
    '',
    '## Goals (reported, not asserted)',
    '',
    renderGoals(results.goals),
    '',
    '## What each line measures',
    '',
    renderDefinitions(results),
    '',
    '## Notes',
    '',
    ...results.notes.map((n) => `- ${n}`),
    '',
  ].join('\n');
  // Formatted like every other file, so `npm run format:check` stays clean after a run.
  const file = path.join(dir, 'RESULTS.md');
  const options = (await prettier.resolveConfig(file)) ?? {};
  await fs.writeFile(file, await prettier.format(md, { ...options, filepath: file }));
}
