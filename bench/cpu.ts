import { listPids, readCmdline, readProcStat } from '../test/support/portal-process';

/** Clock ticks per second of /proc/<pid>/stat times; 100 on every Linux this runs on. */
const TICKS_PER_S = 100;

interface ProcTimes {
  name: string;
  own: number;
  reapedChildren: number;
}

/** Per phase, % of one core used by each party: tells a lock wait from a busy CPU. */
export interface CpuShare {
  portal: number;
  /** The fake Asterisk: the CLI clients the portal's helper ran and reaped, plus the fake's server. */
  portal_children: number;
  /** Backends of the bench database plus PostgreSQL's shared background processes. */
  postgres: number;
  /** The load generator and in-process floors. */
  bench: number;
  /** Everything else on the machine: other jobs sharing the CPUs skew the figures. */
  other: number;
}

function read(dbName: string): Map<number, ProcTimes> {
  const out = new Map<number, ProcTimes>();
  for (const pid of listPids()) {
    // Undefined: the process ended between the listing and the read.
    const stat = readProcStat(pid);
    if (!stat) continue;
    let name = stat.comm;
    if (stat.comm === 'postgres') {
      const cmd = readCmdline(pid) ?? '';
      // A backend names its database in its title; other databases' backends are others' load.
      const backend = /^postgres: [^:]+: \S+ (\S+) /.exec(cmd);
      name = backend && backend[1] !== dbName ? 'other-postgres' : 'postgres';
    } else if (stat.comm === 'node') {
      const cmd = readCmdline(pid) ?? '';
      if (cmd.includes('/fake-asterisk/server\0')) name = 'fake-asterisk';
      else if (cmd.includes('/cli-spawn-helper.js\0')) name = 'cli-helper';
    }
    out.set(pid, {
      name,
      own: stat.utime + stat.stime,
      reapedChildren: stat.cutime + stat.cstime,
    });
  }
  return out;
}

export class CpuMeter {
  constructor(
    private readonly dbName: string,
    private readonly portalPid: () => number | undefined,
  ) {}

  /** Runs `fn` and returns its result with the CPU each party used meanwhile. */
  async measure<T>(fn: () => Promise<T>): Promise<{ value: T; cpu: CpuShare }> {
    const before = read(this.dbName);
    const t0 = performance.now();
    const value = await fn();
    const wallMs = performance.now() - t0;
    const after = read(this.dbName);
    const ticks = { portal: 0, portal_children: 0, postgres: 0, bench: 0, other: 0 };
    const portal = this.portalPid();
    for (const [pid, now] of after) {
      const was = before.get(pid);
      const own = now.own - (was?.own ?? 0);
      const reaped = now.reapedChildren - (was?.reapedChildren ?? 0);
      // The portal runs the CLI through its helper process: the helper's own work is the
      // portal's, the clients it reaped are the fake's.
      if (pid === portal || now.name === 'cli-helper') {
        ticks.portal += own;
        ticks.portal_children += reaped;
      } else if (pid === process.pid) ticks.bench += own;
      else if (now.name === 'postgres') ticks.postgres += own;
      else if (now.name === 'fake-asterisk') ticks.portal_children += own;
      else ticks.other += own;
    }
    const pct = (t: number): number => Math.round(((t / TICKS_PER_S) * 1000 * 100) / wallMs);
    return {
      value,
      cpu: {
        portal: pct(ticks.portal),
        portal_children: pct(ticks.portal_children),
        postgres: pct(ticks.postgres),
        bench: pct(ticks.bench),
        other: pct(ticks.other),
      },
    };
  }
}
