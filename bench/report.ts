import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as prettier from 'prettier';
import type { CpuShare } from './cpu';
import type { Summary } from './measure';
import type { NodesResults } from './nodes';
import type { WebhooksResults } from './webhooks';

/** One line of the main table: a figure, what it measures, and its floor when it has one. */
export interface Metric extends Summary {
  what: string;
  floor: string | null;
  floor_p50_ms: number | null;
  /** p50 / floor p50. */
  ratio: number | null;
  cpu: CpuShare | null;
}

/** p50/p99 of one step of the apply, for the changed and the unchanged runs. */
export interface ApplyStep {
  what: string;
  changed: Summary;
  nochange: Summary;
  /** p50 of the same work done in the bench process, where there is one. */
  floor_p50_ms: number | null;
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
  apply: Record<string, ApplyStep>;
  nodes: NodesResults;
  webhooks: WebhooksResults;
  goals: Goal[];
  notes: string[];
}

const num = (v: number | null, digits = 2): string => (v === null ? '-' : v.toFixed(digits));

/** A Markdown table; prettier pads it. Columns in `left` are text, the others numbers. */
function table(head: string[], rows: string[][], left = [0]): string {
  const rule = head.map((_, i) => (left.includes(i) ? '---' : '--:'));
  return [head, rule, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

function metricsTable(metrics: Record<string, Metric>): string {
  const head = ['metric', 'N', 'p50 ms', 'p99 ms', 'req/s', 'floor', 'floor p50 ms', 'ratio'];
  return table(
    [...head, 'cpu % portal/cli/pg/bench/other'],
    Object.entries(metrics).map(([name, m]) => [
      name,
      String(m.n),
      num(m.p50_ms),
      num(m.p99_ms),
      num(m.rps, 1),
      m.floor ?? '-',
      num(m.floor_p50_ms),
      m.ratio === null ? '-' : `${m.ratio.toFixed(2)}x`,
      m.cpu ? [m.cpu.portal, m.cpu.cli, m.cpu.postgres, m.cpu.bench, m.cpu.other].join('/') : '-',
    ]),
    [0, 5],
  );
}

function applyTable(apply: Record<string, ApplyStep>): string {
  return table(
    ['apply step, ms', 'changed p50', 'changed p99', 'unchanged p50', 'unchanged p99', 'floor p50'],
    Object.entries(apply).map(([name, s]) => [
      name,
      num(s.changed.p50_ms, 1),
      num(s.changed.p99_ms, 1),
      num(s.nochange.p50_ms, 1),
      num(s.nochange.p99_ms, 1),
      num(s.floor_p50_ms, 1),
    ]),
  );
}

const pair = (s: Summary): string => `${num(s.p50_ms, 1)} / ${num(s.p99_ms, 1)}`;

/** One node against three: the apply as a whole, each node's steps, and what SSH costs here. */
function nodesSection(n: NodesResults): string {
  const rows: [string, Record<'one' | 'three', Summary>][] = [
    ['POST /apply at the client', n.client],
    ["portal share: the client time minus the slowest node's CLI time", n.portalShare],
    ["the slowest node's CLI time (`reloadCliMs + verifyCliMs`)", n.slowestCli],
    ['`durationMs`: audit row opened to closed', n.durationMs],
  ];
  const whole = table(
    ['p50 / p99 ms', 'one node', 'three nodes', 'p50 ratio'],
    rows.map(([what, s]) => [
      what,
      pair(s.one),
      pair(s.three),
      `${(s.three.p50_ms / s.one.p50_ms).toFixed(2)}x`,
    ]),
  );
  const keys = Object.keys(n.nodes[0].steps) as (keyof NodesResults['nodes'][0]['steps'])[];
  const steps = table(
    ['node (configuration), p50 / p99 ms', ...keys.map((k) => `\`${k}\``)],
    n.nodes.map((node) => [
      `${node.node} (${node.config === 'one' ? 'one node' : 'three nodes'}, ${node.transport})`,
      ...keys.map((k) => pair(node.steps[k])),
    ]),
  );
  const floors = table(
    ['cost on this machine', 'N', 'p50 ms', 'p99 ms', 'what'],
    Object.entries(n.floors).map(([name, f]) => [
      name,
      String(f.n),
      num(f.p50_ms),
      num(f.p99_ms),
      f.what,
    ]),
    [0, 4],
  );
  return `${whole}\n\nEach node's own timings (the nodes run side by side; \`planMs\` here is the node's: check the directories, read the files on it):\n\n${steps}\n\nWhat the SSH set-up costs per connection and per command, measured after the applies:\n\n${floors}`;
}

/** Each subscription's arrivals counted by webhook-id, and how the paced creates kept time. */
function webhooksSection(w: WebhooksResults): string {
  const counts = table(
    ['receiver path', 'expected', 'received', 'distinct webhook-id', 'unexpected'],
    w.deliveries.map((d) => [
      d.path,
      String(d.expected),
      String(d.received),
      String(d.distinct),
      String(d.unexpected),
    ]),
  );
  const c = w.cpuPerCreate;
  const total = (k: 'hooks' | 'none'): number => c[k].portal + c[k].postgres + c[k].receiver;
  const cpu = table(
    ['CPU per create, ms', 'three subscriptions', 'none', 'difference'],
    [
      ['portal (requests and deliveries)', c.hooks.portal, c.none.portal],
      ['PostgreSQL (the bench database)', c.hooks.postgres, c.none.postgres],
      ['receiver (on the same CPUs)', c.hooks.receiver, c.none.receiver],
      ['all three', total('hooks'), total('none')],
    ].map(([what, hooks, none]) => [
      String(what),
      num(Number(hooks)),
      num(Number(none)),
      num(Number(hooks) - Number(none)),
    ]),
  );
  return `${counts}\n\nDeliveries left in the database not \`delivered\` at the end: ${w.undelivered}.\n\n${cpu}\n\nA block with subscriptions is counted from its first request to its last delivery at the receiver, one without to its last answer. The delivery worker runs in the portal's process: a 201 waits for no delivery, but the sends, their signatures and their recorded attempts share the machine's two CPUs with the requests, and so do the receiver and PostgreSQL. The paced creates went out at ${w.rate} a second, each at most ${num(w.pacingLate.p99_ms, 1)} ms late (p99; p50 ${num(w.pacingLate.p50_ms, 1)} ms).`;
}

/** RESULTS.md, formatted like every other file so `prettier --check` stays clean after a run. */
export async function writeResults(dir: string, r: Results): Promise<string> {
  await fs.writeFile(path.join(dir, 'results.json'), toJson(r));
  const list = (items: string[]): string => items.map((s) => `- ${s}`).join('\n');
  const md = `# Benchmark results

Latest \`npm run bench\` (\`bench/run.ts\`); raw numbers in \`bench/results.json\`. Every
request figure is compared with a floor measured in the same run on the same machine (ratio =
portal p50 / floor p50). The apply is reported as the portal's own time per step: the fake
Asterisk CLI's time is taken out and not judged, since it says nothing about a real Asterisk.

Run: ${r.date}, node ${r.node}, ${r.cpus} CPUs (${r.cpu_model}).

## Set-up

${list(r.setup)}

## Requests and floors

${metricsTable(r.metrics)}

## Apply of 1,000 users per step: the portal's own share (the fake CLI shown, not judged)

${applyTable(r.apply)}

## Apply on three nodes against one, in the same run (the fake CLI on every node)

${nodesSection(r.nodes)}

## Webhooks: each event exactly once per subscription

${webhooksSection(r.webhooks)}

## Goals (reported, not asserted)

${list(r.goals.map((g) => `${g.result} ${g.metric}: ${g.goal} (measured ${g.measured})`))}

## What each line measures

${list([
  ...Object.entries(r.metrics).map(([name, m]) => `\`${name}\`: ${m.what}`),
  ...Object.entries(r.apply).map(([name, s]) => `\`${name}\`: ${s.what}`),
])}

## Notes

${list(r.notes)}
`;
  const file = path.join(dir, 'RESULTS.md');
  const formatted = await prettier.format(md, {
    ...((await prettier.resolveConfig(file)) ?? {}),
    filepath: file,
  });
  await fs.writeFile(file, formatted);
  return formatted;
}

/** results.json with one line per metric, apply step, goal and note: two runs diff line by line. */
function toJson(r: Results): string {
  const block = (v: unknown): string => {
    if (typeof v !== 'object' || v === null) return JSON.stringify(v);
    const lines = Array.isArray(v)
      ? v.map((x) => JSON.stringify(x))
      : Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${JSON.stringify(x)}`);
    const [open, close] = Array.isArray(v) ? ['[', ']'] : ['{', '}'];
    return `${open}\n${lines.map((l) => `    ${l}`).join(',\n')}\n  ${close}`;
  };
  const top = Object.entries(r).map(([k, v]) => `  ${JSON.stringify(k)}: ${block(v)}`);
  return `{\n${top.join(',\n')}\n}\n`;
}
