import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type {
  ApplyNodeResultDto,
  ApplyTimingsDto,
  NodeTimingsDto,
} from '../src/apply/dto/apply.dto';
import { SshSession } from '../src/asterisk/transport/ssh-session';
import type { AsteriskSandbox } from '../test/support/asterisk-sandbox';
import type { PortalProcess } from '../test/support/portal-process';
import { localEntry, SshNode, writeNodesFile } from '../test/support/ssh-node';
import type { CpuShare } from './cpu';
import { type Summary, summarize, time } from './measure';

/** One POST /apply as the client saw it, with the answer's own timings. */
export interface ApplyRun {
  /** POST /apply at the client. */
  ms: number;
  durationMs: number;
  t: ApplyTimingsDto;
  nodes: ApplyNodeResultDto[];
}

/** The CLI time of the slowest node: the nodes run side by side, so it is what the apply waits for. */
export const slowestCliMs = (r: ApplyRun): number =>
  Math.max(0, ...r.nodes.map((n) => n.timings.reloadCliMs + n.timings.verifyCliMs));

export type Config = 'one' | 'three';

/** p50 and p99 of each of a node's timings in one configuration. */
export interface NodeSteps {
  node: string;
  transport: 'local' | 'ssh';
  config: Config;
  steps: Record<keyof NodeTimingsDto, Summary>;
}

/** What the nodes phase measured; the report turns it into its own section. */
export interface NodesResults {
  setup: string;
  /** Per configuration: POST /apply at the client, and the portal's own share of it. */
  client: Record<Config, Summary>;
  portalShare: Record<Config, Summary>;
  slowestCli: Record<Config, Summary>;
  durationMs: Record<Config, Summary>;
  cpu: CpuShare | null;
  nodes: NodeSteps[];
  /** What one SSH connection and one command over it cost, beside the local CLI's start-up. */
  floors: Record<string, { what: string } & Summary>;
}

export interface NodesPhaseOptions {
  box: AsteriskSandbox;
  runs: number;
  warmUp: number;
  timeoutMs: number;
  /** Starts a portal on the bench database with these variables added to the usual ones. */
  startPortal: (extra: Record<string, string>) => Promise<PortalProcess>;
  /** One changed apply on the portal at `baseUrl`; fails unless every node applied. */
  apply: (baseUrl: string) => Promise<ApplyRun>;
  /** A new password for one user (the `i`th), so the next apply really changes a file. */
  rotate: (baseUrl: string, i: number) => Promise<void>;
  /** Runs a timed stretch with the CPU of both portals and the nodes' sshd counted. */
  measure: <T>(portals: number[], fn: () => Promise<T>) => Promise<{ value: T; cpu: CpuShare }>;
  log: (msg: string) => void;
  /** Things to stop or remove however the run ends. */
  onCleanup: (undo: () => Promise<void>) => void;
}

const NODE_KEYS: (keyof NodeTimingsDto)[] = [
  'connectMs',
  'planMs',
  'writeMs',
  'reloadMs',
  'reloadCliMs',
  'verifyMs',
  'verifyCliMs',
  'finishMs',
];

/**
 * The same changed apply of the same users with one local node and with three (that local
 * node plus two over SSH on loopback, each behind its own sshd with its own fake Asterisk).
 */
export async function nodesPhase(o: NodesPhaseOptions): Promise<NodesResults> {
  o.log('nodes: two SSH nodes (sshd on loopback) and a portal per configuration');
  const ssh = await Promise.all([SshNode.start('ssh-b'), SshNode.start('ssh-c')]);
  o.onCleanup(async () => {
    await Promise.all(ssh.map((n) => n.close()));
  });
  // The local node keeps the name it has without a nodes file: both portals record its state
  // in the same row, and it is the same directory and the same fake either way.
  const nodesFile = writeNodesFile([localEntry('local', o.box), ...ssh.map((n) => n.entry())]);
  o.onCleanup(() => Promise.resolve(rmSync(path.dirname(nodesFile), { recursive: true })));

  // Two portals on the one database, one per configuration, the applies alternating between
  // them: both are warm and measured in the same minutes, so whatever else the shared machine
  // does hits both alike. Restarting one portal with and without ASTERISK_NODES_FILE would pay
  // a cold start and a JIT warm-up per switch, and so could switch only a few times. The apply
  // lock is PostgreSQL's, so the two never apply at once, and the idle one costs nothing.
  const portals: Record<Config, PortalProcess> = {
    one: await o.startPortal({}),
    three: await o.startPortal({ ASTERISK_NODES_FILE: nodesFile }),
  };
  await Promise.all(Object.values(portals).map((p) => p.waitUntilHealthy(60_000)));

  let rotation = 0;
  const applyOn = async (config: Config): Promise<ApplyRun> => {
    await o.rotate(portals[config].baseUrl, rotation++);
    const run = await o.apply(portals[config].baseUrl);
    const expected = config === 'one' ? 1 : 1 + ssh.length;
    if (run.nodes.length !== expected || run.nodes.some((n) => n.outcome !== 'applied')) {
      throw new Error(`apply on ${config} node(s): ${JSON.stringify(run.nodes)}`);
    }
    return run;
  };
  // Each pair in turn starts with the other configuration (ABBA): the tail of one apply (its
  // processes exiting) falls on both alike.
  const order = (i: number): Config[] => (i % 2 === 0 ? ['one', 'three'] : ['three', 'one']);
  o.log(`nodes: ${o.warmUp} untimed pairs, then ${o.runs} changed applies on each, alternating`);
  // The first apply on each SSH node writes both files and their last good copy.
  for (let i = 0; i < o.warmUp; i++) for (const c of order(i)) await applyOn(c);
  const runs: Record<Config, ApplyRun[]> = { one: [], three: [] };
  const { cpu } = await o.measure(
    Object.values(portals).map((p) => p.pid),
    async () => {
      for (let i = 0; i < o.runs; i++) for (const c of order(i)) runs[c].push(await applyOn(c));
    },
  );
  for (const p of Object.values(portals)) await p.stop();

  o.log('nodes: what an SSH connection and a command over it cost, beside the local CLI');
  const floors = await sshFloors(o.box, ssh[0], o.timeoutMs);

  const per = (pick: (r: ApplyRun) => number): Record<Config, Summary> => ({
    one: summarize(runs.one.map(pick)),
    three: summarize(runs.three.map(pick)),
  });
  const nodes: NodeSteps[] = [];
  for (const config of ['one', 'three'] as const) {
    for (const { name } of runs[config][0].nodes) {
      const timings = runs[config].map((r) => r.nodes.find((n) => n.name === name)!.timings);
      const steps = Object.fromEntries(
        NODE_KEYS.map((k) => [k, summarize(timings.map((t) => t[k]))]),
      ) as Record<keyof NodeTimingsDto, Summary>;
      nodes.push({ node: name, transport: name === 'local' ? 'local' : 'ssh', config, steps });
    }
  }
  return {
    setup: `Nodes phase (last; VACUUM ANALYZE and CHECKPOINT first): two new portals on the same database, one without ASTERISK_NODES_FILE (one node, \`local\`: the bench's sandbox) and one with three nodes (that same \`local\` plus \`ssh-b\` and \`ssh-c\`, each behind its own OpenSSH server on 127.0.0.1 logged into as the node account ${ssh[0].sshd.username} with /bin/sh as its shell, each with its own fake Asterisk); ${o.warmUp} untimed pairs, then ${o.runs} changed applies on each, alternating between the two portals (each pair starting with the other one), one password rotated before every apply.`,
    client: per((r) => r.ms),
    portalShare: per((r) => r.ms - slowestCliMs(r)),
    slowestCli: per(slowestCliMs),
    durationMs: per((r) => r.durationMs),
    cpu,
    nodes,
    floors,
  };
}

/**
 * The per-command cost the SSH nodes add, and what three fake CLIs at once cost on this
 * machine: each SSH command is a session process forked by sshd, the node account's /bin/sh
 * and then the fake's own node start-up; locally it is the wrapper script and node.
 */
async function sshFloors(
  box: AsteriskSandbox,
  node: SshNode,
  timeoutMs: number,
): Promise<NodesResults['floors']> {
  const N = 20;
  const open = () =>
    SshSession.open({
      name: node.name,
      host: '127.0.0.1',
      port: node.sshd.port,
      username: node.sshd.username,
      privateKey: readFileSync(node.keyFile),
      hostKey: node.sshd.hostKeyFingerprint,
      timeoutMs,
    });
  const local = (command: string) => promisify(execFile)(box.cli, ['-rx', command]);
  const connect = await time(N, 1, async () => (await open()).close(), 2);
  const session = await open();
  const remote = async (argv: string[]) => {
    const res = await session.run(argv);
    if (res.code !== 0) throw new Error(`${argv.join(' ')} over SSH exited ${res.code}`);
  };
  try {
    const show = 'pjsip show endpoints';
    return {
      ssh_connect: {
        what: 'open an SSH session to a node (TCP, key exchange, key authentication) and close it; what `connectMs` holds',
        ...connect,
      },
      ssh_exec_true: {
        what: "one command over an open session: `true`, run by the node account's /bin/sh (sshd forks a session process for every exec)",
        ...(await time(N, 1, () => remote(['true']), 2)),
      },
      ssh_exec_fake_version: {
        what: "the SSH node's fake CLI over an open session, `core show version`: its node start-up and little else",
        ...(await time(N, 1, () => remote([node.sandbox.cli, '-rx', 'core show version']), 2)),
      },
      local_fake_version: {
        what: 'the local fake CLI, `core show version` (its wrapper script, then node)',
        ...(await time(N, 1, () => local('core show version'), 2)),
      },
      ssh_exec_fake_endpoints: {
        what: `the SSH node's fake CLI over an open session, \`${show}\` of 1,000 endpoints: the verify's longer read-back`,
        ...(await time(N, 1, () => remote([node.sandbox.cli, '-rx', show]), 2)),
      },
      local_fake_endpoints: {
        what: `the local fake CLI, \`${show}\` of 1,000 endpoints`,
        ...(await time(N, 1, () => local(show), 2)),
      },
      local_fake_endpoints_x3: {
        what: `three of the local \`${show}\` at once, timed until all three are done: three nodes' read-backs sharing this machine's CPUs`,
        ...(await time(N, 1, () => Promise.all([local(show), local(show), local(show)]), 2)),
      },
    };
  } finally {
    await session.close();
  }
}
