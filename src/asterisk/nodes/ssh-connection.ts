import { promises as fs } from 'node:fs';
import type { AsteriskNodeConfig } from '../../config/asterisk-nodes';
import type { ProcessOutcome } from '../cli/cli-process-runner';
import { SshError, SshSession } from '../transport/ssh-session';
import { gidFromGroupFile, UnknownGroupError } from './local-connection';
import type {
  DirectoryProblem,
  FileContent,
  FileOwnership,
  NodeConnection,
} from './node-connection';

/**
 * A node reached over SSH: one session for the whole apply (files over SFTP, the CLI over the
 * exec channel), closed when the apply is done with the node.
 */
export class SshConnection implements NodeConnection {
  private gids = new Map<string, number>();

  private constructor(
    private readonly node: AsteriskNodeConfig,
    private readonly session: SshSession,
  ) {}

  static async open(node: AsteriskNodeConfig, timeoutMs: number): Promise<SshConnection> {
    const target = node.ssh;
    if (!target) throw new SshError(`ssh ${node.name}: the node has no ssh settings`);
    let privateKey: Buffer;
    try {
      privateKey = await fs.readFile(target.privateKeyFile);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new SshError(
        `ssh ${node.name}: cannot read privateKeyFile ${target.privateKeyFile} (${code})`,
      );
    }
    const session = await SshSession.open({
      name: node.name,
      host: target.host,
      port: target.port,
      username: target.username,
      privateKey,
      hostKey: target.hostKey,
      timeoutMs,
    });
    return new SshConnection(node, session);
  }

  /** False once the session is lost: the next user connects again. */
  get alive(): boolean {
    return this.session.alive;
  }

  async runCli(command: string, timeoutMs: number): Promise<ProcessOutcome> {
    const res = await this.session.run([...this.node.cli, '-rx', command], timeoutMs);
    // The remote shell answers 127 for a program it cannot find, 126 for one it cannot run.
    const errno = res.code === 127 ? 'ENOENT' : res.code === 126 ? 'EACCES' : null;
    return {
      stdout: res.stdout,
      stderr: res.stderr,
      exitCode: errno === null ? res.code : null,
      errno,
      killed: false,
      signal: res.signal,
    };
  }

  readFile(file: string): Promise<string | null> {
    return this.session.readFile(file);
  }

  async writeFilesAtomic(files: FileContent[], own: FileOwnership): Promise<void> {
    const gid = own.group === undefined ? undefined : await this.gid(own.group);
    await this.session.writeFilesAtomic(
      files.map((f) => ({ target: f.path, content: f.content })),
      { mode: own.mode, gid },
    );
  }

  remove(file: string): Promise<void> {
    return this.session.remove(file);
  }

  list(dir: string): Promise<string[] | null> {
    return this.session.list(dir);
  }

  directoryProblem(dir: string): Promise<DirectoryProblem> {
    return this.session.directoryProblem(dir);
  }

  close(): Promise<void> {
    return this.session.close();
  }

  /** A group name is the node's own: looked up in the node's /etc/group. */
  private async gid(group: string): Promise<number> {
    if (/^\d+$/.test(group)) return Number(group);
    let gid = this.gids.get(group) ?? null;
    if (gid === null) {
      gid = gidFromGroupFile((await this.session.readFile('/etc/group')) ?? '', group);
      if (gid === null) throw new UnknownGroupError(group);
      this.gids.set(group, gid);
    }
    return gid;
  }
}
