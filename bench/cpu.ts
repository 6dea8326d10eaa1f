import { listPids, readCmdline, readProcStat } from '../test/support/portal-process';

/**
 * % of one core each party used during a phase: tells a lock wait from a busy CPU, and shows
 * when other jobs on the machine were competing for it.
 */
export interface CpuShare {
  portal: number;
  /**
   * The Asterisk CLI runs the portal started and reaped (the fake's client and its work), and
   * the sessions of the SSH nodes' sshd (the server side of SSH and the CLI runs over it).
   */
  cli: number;
  /** The bench database's backends and its server's own processes. */
  postgres: number;
  /** The load generator, the in-process floors and the bench's other children. */
  bench: number;
  /** Everything else on the machine. */
  other: number;
}

type Party = keyof CpuShare;

/** Clock ticks per second of /proc/<pid>/stat; 100 on every Linux this runs on. */
const TICKS_PER_S = 100;

/** Who is who: the bench database, the pid of its server's postmaster, the portals' pids. */
export interface Parties {
  dbName: string;
  postmaster: number;
  portals: readonly number[];
}

function sample(p: Parties): Map<number, { party: Party; ticks: number }> {
  const out = new Map<number, { party: Party; ticks: number }>();
  for (const pid of listPids()) {
    const stat = readProcStat(pid);
    if (!stat) continue; // gone since the listing
    let party: Party = 'other';
    if (p.portals.includes(pid)) {
      party = 'portal';
      // The children the portal reaped are the CLI runs of its applies (kept under -pid).
      out.set(-pid, { party: 'cli', ticks: stat.cutime + stat.cstime });
    } else if (pid === process.pid || stat.ppid === process.pid) {
      party = 'bench';
      // A node's sshd reaps its sessions: the SSH server side and the CLI runs over it.
      if (stat.comm === 'sshd') out.set(-pid, { party: 'cli', ticks: stat.cutime + stat.cstime });
    } else if (pid === p.postmaster || stat.ppid === p.postmaster) {
      // A backend names its database in its title; other databases' backends are others' load.
      const backend = /^postgres: [^:]+: \S+ (\S+) /.exec(readCmdline(pid) ?? '');
      party = backend && backend[1] !== p.dbName ? 'other' : 'postgres';
    }
    out.set(pid, { party, ticks: stat.utime + stat.stime });
  }
  return out;
}

/** Clock ticks each party used between two samples; a process that exited meanwhile is left out. */
function ticksBetween(
  before: Map<number, { party: Party; ticks: number }>,
  after: Map<number, { party: Party; ticks: number }>,
): CpuShare {
  const ticks: CpuShare = { portal: 0, cli: 0, postgres: 0, bench: 0, other: 0 };
  for (const [pid, now] of after) ticks[now.party] += now.ticks - (before.get(pid)?.ticks ?? 0);
  return ticks;
}

/** Starts counting: `ms()` gives the CPU time (ms) each party has used since. */
export function cpuMeter(parties: Parties): { ms: () => CpuShare } {
  const before = sample(parties);
  return {
    ms: () => {
      const ticks = ticksBetween(before, sample(parties));
      const out = { ...ticks };
      for (const party of Object.keys(out) as Party[])
        out[party] = (ticks[party] * 1000) / TICKS_PER_S;
      return out;
    },
  };
}

/** Runs `fn` and returns its result with the CPU each party used meanwhile. */
export async function withCpu<T>(
  parties: Parties,
  fn: () => Promise<T>,
): Promise<{ value: T; cpu: CpuShare }> {
  const before = sample(parties);
  const t0 = performance.now();
  const value = await fn();
  const wallS = (performance.now() - t0) / 1000;
  const ticks = ticksBetween(before, sample(parties));
  const pct = (t: number): number => Math.round((100 * t) / TICKS_PER_S / wallS);
  return {
    value,
    cpu: {
      portal: pct(ticks.portal),
      cli: pct(ticks.cli),
      postgres: pct(ticks.postgres),
      bench: pct(ticks.bench),
      other: pct(ticks.other),
    },
  };
}
