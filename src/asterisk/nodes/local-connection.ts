import { constants as fsConstants, promises as fs } from 'node:fs';
import path from 'node:path';
import type { AsteriskNodeConfig } from '../../config/asterisk-nodes';
import { CliProcessRunner, type ProcessOutcome } from '../cli/cli-process-runner';
import { tempName } from './temp-names';
import type {
  DirectoryProblem,
  FileContent,
  FileOwnership,
  NodeConnection,
} from './node-connection';

const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

/** The node on the portal's own machine: the local disk and `execFile` (no shell). */
export class LocalConnection implements NodeConnection {
  constructor(
    private readonly node: AsteriskNodeConfig,
    private readonly processes: CliProcessRunner,
  ) {}

  runCli(command: string, timeoutMs: number): Promise<ProcessOutcome> {
    const [program, ...args] = this.node.cli;
    return this.processes.run(program, [...args, '-rx', command], {
      timeoutMs,
      maxBuffer: MAX_OUTPUT_BYTES,
    });
  }

  async readFile(file: string): Promise<string | null> {
    try {
      return await fs.readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async writeFilesAtomic(files: FileContent[], own: FileOwnership): Promise<void> {
    const staged: { tmp: string; target: string; done: boolean }[] = [];
    try {
      for (const { path: target, content } of files) {
        const tmp = path.join(path.dirname(target), tempName(path.basename(target)));
        staged.push({ tmp, target, done: false });
        await stage(tmp, content, own);
      }
      for (const s of staged) {
        await fs.rename(s.tmp, s.target);
        s.done = true;
      }
      for (const dir of new Set(files.map((f) => path.dirname(f.path)))) await fsyncDirectory(dir);
    } catch (err) {
      for (const s of staged.filter((x) => !x.done)) {
        await fs.rm(s.tmp, { force: true }).catch(() => undefined);
      }
      throw err;
    }
  }

  async remove(file: string): Promise<void> {
    await fs.rm(file, { force: true });
    await fsyncDirectory(path.dirname(file));
  }

  async list(dir: string): Promise<string[] | null> {
    try {
      return await fs.readdir(dir);
    } catch {
      return null; // a missing directory is reported by the apply that needs it
    }
  }

  async directoryProblem(dir: string): Promise<DirectoryProblem> {
    try {
      if (!(await fs.stat(dir)).isDirectory()) return { code: 'ENOTDIR' };
      await fs.access(dir, fsConstants.W_OK | fsConstants.X_OK);
      return null;
    } catch (err) {
      return { code: (err as NodeJS.ErrnoException).code ?? 'error' };
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Writes `tmp` (which must not exist) whole, with its mode and group, fsync'd and closed. */
async function stage(tmp: string, content: string, own: FileOwnership): Promise<void> {
  const handle = await fs.open(tmp, 'wx', own.mode);
  try {
    await handle.writeFile(content, 'utf8');
    // open() applies the umask; set the mode Asterisk needs explicitly.
    await handle.chmod(own.mode);
    if (own.group !== undefined) await handle.chown(-1, await resolveGid(own.group));
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function fsyncDirectory(dir: string): Promise<void> {
  // The rename is durable only once the directory entry is on disk.
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function resolveGid(group: string): Promise<number> {
  if (/^\d+$/.test(group)) return Number(group);
  const gid = gidFromGroupFile(await fs.readFile('/etc/group', 'utf8'), group);
  if (gid === null) throw new UnknownGroupError(group);
  return gid;
}

/** A file group that does not exist on the node: a configuration problem, said as one. */
export class UnknownGroupError extends Error {
  constructor(readonly group: string) {
    super(`${group} is not a group on this host`);
  }
}

/** The gid of `group` in an /etc/group text, or null. */
export function gidFromGroupFile(text: string, group: string): number | null {
  const entry = text
    .split('\n')
    .map((l) => l.split(':'))
    .find((f) => f[0] === group);
  return entry && /^\d+$/.test(entry[2] ?? '') ? Number(entry[2]) : null;
}
