import { createHash } from 'node:crypto';
import path from 'node:path';
import {
  Client,
  type ClientChannel,
  type FileEntryWithStats,
  type SFTPWrapper,
  type Stats,
  utils,
} from 'ssh2';
import { tempName } from '../nodes/temp-names';
import { joinArgv } from './shell-quote';

export interface SshNodeOptions {
  /** The node's name, used in every error so a failure says which node it was. */
  name?: string;
  host: string;
  port: number;
  username: string;
  /** An OpenSSH private key without passphrase; it never appears in an error or a log. */
  privateKey: Buffer;
  /** The host key's fingerprint as `ssh-keygen -lf` prints it: `SHA256:` and base64 without `=`. */
  hostKey: string;
  /** The limit for connecting (TCP, key exchange, authentication) and for each command. */
  timeoutMs: number;
}

export interface RemoteResult {
  /** The exit code, or null when the program ended by a signal (see signal). */
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

export interface WriteOptions {
  mode: number;
  gid?: number;
}

export class SshError extends Error {}

const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;
const MAX_CHANNELS = 8;
// Bigger SFTP writes are split by ssh2 and sent one after the other; a few in flight keep
// a large file from waiting on each round trip.
const WRITE_SEGMENT = 256 * 1024;
const WRITES_IN_FLIGHT = 4;
const { STATUS_CODE } = utils.sftp;

/** `SHA256:<base64 without padding>` of a host key blob, as `ssh-keygen -lf` prints it. */
export function sha256Fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/**
 * One node reached over SSH, for one apply: commands over the exec channel (every argument
 * quoted, since the remote user's shell parses the line), files over SFTP. Authentication is
 * by key only, and the host key is pinned: an unknown host is refused before authentication,
 * so nothing (no key signature, no command) is sent to it.
 */
export class SshSession {
  private sftpReady: Promise<SFTPWrapper> | null = null;
  private lost: string | null = null;
  /** SFTP requests waiting for an answer: ssh2 leaves them pending when the connection dies. */
  private readonly waiting = new Set<(err: Error) => void>();
  /** Commands running, and those waiting for a channel. */
  private running = 0;
  private readonly queued: (() => void)[] = [];

  private constructor(
    private readonly client: Client,
    private readonly name: string,
    private readonly timeoutMs: number,
  ) {
    client.on('error', (err) => {
      this.lost ??= oneLine(err.message);
    });
    client.on('close', () => {
      this.lost ??= 'connection closed';
      for (const reject of this.waiting) reject(new Error(this.lost));
      this.waiting.clear();
    });
  }

  static open(options: SshNodeOptions): Promise<SshSession> {
    const name = options.name ?? `${options.host}:${options.port}`;
    const fail = (what: string): SshError => new SshError(`ssh ${name}: ${what}`);
    const expected = options.hostKey.replace(/=+$/, '');
    if (!FINGERPRINT.test(expected)) {
      return Promise.reject(fail('hostKey must be SHA256:<base64> as `ssh-keygen -lf` prints it'));
    }
    return new Promise((resolve, reject) => {
      const client = new Client();
      let settled = false;
      let mismatch: string | null = null;
      const finish = (err: SshError | null): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err === null) {
          resolve(new SshSession(client, name, options.timeoutMs));
          return;
        }
        client.removeAllListeners('ready');
        client.on('error', () => undefined); // late errors of a socket being torn down
        client.destroy();
        reject(err);
      };
      // ssh2's readyTimeout does not cover the TCP connect on every path; one timer covers all.
      const timer = setTimeout(
        () =>
          finish(
            fail(
              `could not connect to ${options.host}:${options.port}: timed out after ${options.timeoutMs} ms`,
            ),
          ),
        options.timeoutMs,
      );
      client.once('ready', () => finish(null));
      client.on('error', (err: Error & { level?: string; code?: string }) => {
        // The mismatch names the node itself, in the words an operator compares with ssh-keygen.
        if (mismatch !== null) return finish(new SshError(mismatch));
        const why = err.code ?? oneLine(err.message);
        const stage =
          err.level === 'client-authentication'
            ? `key authentication as ${options.username} refused`
            : `could not connect to ${options.host}:${options.port}`;
        finish(fail(`${stage}: ${why}`));
      });
      client.on('close', () =>
        finish(
          mismatch !== null
            ? new SshError(mismatch)
            : fail(`connection to ${options.host}:${options.port} closed`),
        ),
      );
      try {
        client.connect({
          host: options.host,
          port: options.port,
          username: options.username,
          privateKey: options.privateKey,
          // 'none' and 'password' are never tried: a node that asks for anything but this key fails.
          authHandler: ['publickey'],
          readyTimeout: options.timeoutMs,
          // A connection kept between applies learns of a dead link within ~15 s.
          keepaliveInterval: 5000,
          keepaliveCountMax: 3,
          hostVerifier: (key: Buffer): boolean => {
            const got = sha256Fingerprint(key);
            if (got === expected) return true;
            mismatch = `host key mismatch on ${name}: expected ${expected}, got ${got}`;
            return false;
          },
        });
      } catch (err) {
        // ssh2 parses the key here; its message names the problem, never the key's bytes.
        finish(fail(`the private key cannot be used: ${oneLine((err as Error).message)}`));
      }
    });
  }

  /** False once the connection is lost or closed: a new session is needed. */
  get alive(): boolean {
    return this.lost === null;
  }

  /**
   * Runs argv[0] with the remaining arguments, each received verbatim by the program. At most
   * MAX_CHANNELS commands run at once on the session (OpenSSH's MaxSessions is 10, the SFTP
   * channel counts too); more wait for a free channel rather than fail.
   */
  async run(argv: readonly string[], timeoutMs = this.timeoutMs): Promise<RemoteResult> {
    if (this.running >= MAX_CHANNELS) await new Promise<void>((r) => this.queued.push(r));
    this.running++;
    try {
      return await this.exec(argv, timeoutMs);
    } finally {
      this.running--;
      this.queued.shift()?.();
    }
  }

  private exec(argv: readonly string[], timeoutMs: number): Promise<RemoteResult> {
    const what = describe(argv);
    let line: string;
    try {
      line = joinArgv(argv);
    } catch (err) {
      return Promise.reject(this.fail(`cannot run ${what}: ${(err as Error).message}`));
    }
    return new Promise((resolve, reject) => {
      if (this.lost !== null) return reject(this.fail(`cannot run ${what}: ${this.lost}`));
      let settled = false;
      let channel: ClientChannel | null = null;
      const finish = (err: SshError | null, result?: RemoteResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(result!);
      };
      const abandon = (why: string): void => {
        if (channel) {
          // Best effort: OpenSSH delivers the signal to a non-root login only (a root session has
          // no privilege-separated child); closing the channel does not stop the command.
          channel.signal('KILL');
          channel.close();
        }
        finish(this.fail(why));
      };
      const timer = setTimeout(() => abandon(`${what} timed out after ${timeoutMs} ms`), timeoutMs);
      this.client.exec(line, (err, ch) => {
        if (err) return finish(this.fail(`cannot run ${what}: ${oneLine(err.message)}`));
        channel = ch;
        if (settled) {
          // The timeout came first: the command must not run on unattended.
          ch.signal('KILL');
          ch.close();
          return;
        }
        const out: Buffer[] = [];
        const errOut: Buffer[] = [];
        let bytes = 0;
        let code: number | null = null;
        let signal: string | null = null;
        let exited = false;
        const collect = (into: Buffer[]) => (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > MAX_OUTPUT_BYTES) {
            return abandon(`${what} printed more than ${MAX_OUTPUT_BYTES / 1024 / 1024} MB`);
          }
          into.push(chunk);
        };
        ch.on('data', collect(out));
        ch.stderr.on('data', collect(errOut));
        ch.on('exit', (c: number | null, s?: string) => {
          exited = true;
          code = c;
          signal = s ?? null;
        });
        ch.on('close', () => {
          if (!exited) {
            return finish(
              this.fail(`${what} ended without an exit status: ${this.lost ?? 'channel closed'}`),
            );
          }
          finish(null, {
            code,
            signal,
            stdout: Buffer.concat(out).toString('utf8'),
            stderr: Buffer.concat(errOut).toString('utf8'),
          });
        });
      });
    });
  }

  /**
   * Replaces files atomically: each goes to a temp file in its directory whose name cannot match
   * the `*.conf` include glob, fsync'd, with its mode (and group); then every one is renamed over
   * its target with posix-rename@openssh.com. All temp files are written first, then renamed
   * one right after the other, so a connection lost while writing leaves every old file, and
   * the only moment that could leave some old and some new is between two renames (one round
   * trip each).
   */
  async writeFilesAtomic(
    files: { target: string; content: string | Buffer }[],
    options: WriteOptions,
  ): Promise<void> {
    const sftp = await this.sftp(`write ${files.map((f) => f.target).join(', ')}`);
    const staged: { tmp: string; target: string }[] = [];
    let current = files[0]?.target ?? '';
    try {
      for (const { target, content } of files) {
        current = target;
        const tmp = path.posix.join(
          path.posix.dirname(target),
          tempName(path.posix.basename(target)),
        );
        staged.push({ tmp, target });
        await this.stage(sftp, tmp, content, options);
      }
      for (const [i, { tmp, target }] of staged.entries()) {
        current = target;
        await this.call((cb) => sftp.ext_openssh_rename(tmp, target, cb));
        staged[i].tmp = '';
      }
      for (const dir of new Set(files.map((f) => path.posix.dirname(f.target)))) {
        await this.fsyncDirectory(sftp, dir);
      }
    } catch (err) {
      // Best effort: on a lost connection the temp files stay, and cannot match `*.conf`.
      for (const { tmp } of staged.filter((s) => s.tmp !== '')) {
        await this.call((cb) => sftp.unlink(tmp, cb)).catch(() => undefined);
      }
      throw this.fail(`could not write ${current}: ${this.reason(err)}`);
    }
  }

  /** Writes `tmp` (which must not exist) whole, with its mode and group, fsync'd and closed. */
  private async stage(
    sftp: SFTPWrapper,
    tmp: string,
    content: string | Buffer,
    options: WriteOptions,
  ): Promise<void> {
    const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    const handle = await this.call<Buffer>((cb) =>
      sftp.open(tmp, 'wx', { mode: options.mode }, cb),
    );
    let open = true;
    try {
      await writeAll(sftp, handle, data, (start) => this.call(start));
      // The server's umask applies to open(); set the mode Asterisk needs explicitly.
      await this.call((cb) => sftp.fchmod(handle, options.mode, cb));
      if (options.gid !== undefined) {
        const { uid } = await this.call<{ uid: number }>((cb) => sftp.fstat(handle, cb));
        await this.call((cb) => sftp.fchown(handle, uid, options.gid!, cb));
      }
      await this.call((cb) => sftp.ext_openssh_fsync(handle, cb));
      open = false;
      await this.call((cb) => sftp.close(handle, cb));
    } finally {
      if (open) sftp.close(handle, () => undefined);
    }
  }

  /** The file's content, or null when it does not exist. */
  async readFile(file: string): Promise<string | null> {
    const sftp = await this.sftp(`read ${file}`);
    try {
      return (await this.call<Buffer>((cb) => sftp.readFile(file, cb))).toString('utf8');
    } catch (err) {
      if (sftpCode(err) === STATUS_CODE.NO_SUCH_FILE) return null;
      throw this.fail(`could not read ${file}: ${this.reason(err)}`);
    }
  }

  /** Removes the file; a file that is already gone is not an error. */
  async remove(file: string): Promise<void> {
    const sftp = await this.sftp(`remove ${file}`);
    try {
      await this.call((cb) => sftp.unlink(file, cb));
    } catch (err) {
      if (sftpCode(err) === STATUS_CODE.NO_SUCH_FILE) return;
      throw this.fail(`could not remove ${file}: ${this.reason(err)}`);
    }
  }

  /** The names in a directory, or null when it does not exist. */
  async list(dir: string): Promise<string[] | null> {
    const sftp = await this.sftp(`list ${dir}`);
    try {
      const entries = await this.call<FileEntryWithStats[]>((cb) => sftp.readdir(dir, cb));
      return entries.map((e) => e.filename);
    } catch (err) {
      if (sftpCode(err) === STATUS_CODE.NO_SUCH_FILE) return null;
      throw this.fail(`could not list ${dir}: ${this.reason(err)}`);
    }
  }

  /**
   * Whether this user can create files in `dir`: null when it can, else an errno-like code.
   * SFTP has no access(2), so a probe file (a temp name the include glob cannot match) is
   * created and removed: the one test that answers for this user on this server.
   */
  async directoryProblem(dir: string): Promise<{ code: string } | null> {
    const sftp = await this.sftp(`check ${dir}`);
    const denied = (err: unknown): { code: string } | null => {
      const code = sftpCode(err);
      if (code === STATUS_CODE.NO_SUCH_FILE) return { code: 'ENOENT' };
      if (code === STATUS_CODE.PERMISSION_DENIED) return { code: 'EACCES' };
      return null;
    };
    try {
      const attrs = await this.call<Stats>((cb) => sftp.stat(dir, cb));
      if (!attrs.isDirectory()) return { code: 'ENOTDIR' };
    } catch (err) {
      const problem = denied(err);
      if (problem) return problem;
      throw this.fail(`could not check ${dir}: ${this.reason(err)}`);
    }
    const probe = path.posix.join(dir, tempName('synergycall-probe'));
    let handle: Buffer;
    try {
      handle = await this.call<Buffer>((cb) => sftp.open(probe, 'wx', { mode: 0o600 }, cb));
    } catch (err) {
      const problem = denied(err);
      if (problem) return problem;
      throw this.fail(`could not check ${dir}: ${this.reason(err)}`);
    }
    // Created: the directory takes files. Removing the probe is best effort (another process's
    // clean-up of stale temp files may have removed it already).
    await this.call((cb) => sftp.close(handle, cb)).catch(() => undefined);
    await this.call((cb) => sftp.unlink(probe, cb)).catch(() => undefined);
    return null;
  }

  /** Ends the connection; waits until the socket is closed. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.lost !== null) return resolve();
      const timer = setTimeout(() => {
        this.client.destroy();
        resolve();
      }, this.timeoutMs);
      this.client.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.client.end();
    });
  }

  private sftp(what: string): Promise<SFTPWrapper> {
    if (this.lost !== null) return Promise.reject(this.fail(`cannot ${what}: ${this.lost}`));
    this.sftpReady ??= this.call<SFTPWrapper>((cb) => this.client.sftp(cb)).catch(
      (err: unknown) => {
        this.sftpReady = null;
        throw this.fail(`cannot ${what}: SFTP unavailable: ${this.reason(err)}`);
      },
    );
    return this.sftpReady;
  }

  private async fsyncDirectory(sftp: SFTPWrapper, dir: string): Promise<void> {
    // The rename is durable only once the directory entry is on disk. OpenSSH's sftp-server
    // opens a directory read-only like a file, which is what fsync needs.
    const handle = await this.call<Buffer>((cb) => sftp.open(dir, 'r', cb));
    try {
      await this.call((cb) => sftp.ext_openssh_fsync(handle, cb));
    } finally {
      await this.call((cb) => sftp.close(handle, cb)).catch(() => undefined);
    }
  }

  /**
   * One ssh2 callback as a promise that also fails when the connection is lost, or when the
   * server does not answer within the timeout (a hung sftp-server or a stalled disk): the
   * session is then given up, so the apply ends and the next user connects again.
   */
  private call<T = void>(start: (cb: Callback<T>) => void): Promise<T> {
    if (this.lost !== null) return Promise.reject(new Error(this.lost));
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const settle = (err: Error | null, value?: T): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.waiting.delete(fail);
        if (err) reject(err);
        else resolve(value as T);
      };
      const fail = (err: Error): void => settle(err);
      const timer = setTimeout(() => {
        this.lost ??= `no answer within ${this.timeoutMs} ms`;
        settle(new Error(this.lost));
        this.client.destroy();
      }, this.timeoutMs);
      this.waiting.add(fail);
      start((err, value) => settle(err ?? null, value));
    });
  }

  private reason(err: unknown): string {
    if (this.lost !== null) return this.lost;
    return oneLine(err instanceof Error ? err.message : String(err));
  }

  private fail(what: string): SshError {
    return new SshError(`ssh ${this.name}: ${what}`);
  }
}

type Callback<T> = (err: Error | null | undefined, value?: T) => void;

type Call = (start: (cb: Callback<void>) => void) => Promise<void>;

async function writeAll(
  sftp: SFTPWrapper,
  handle: Buffer,
  data: Buffer,
  call: Call,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < data.length) {
      const offset = next;
      const length = Math.min(WRITE_SEGMENT, data.length - offset);
      next += length;
      await call((cb) => sftp.write(handle, data, offset, length, offset, cb));
    }
  };
  await Promise.all(Array.from({ length: WRITES_IN_FLIGHT }, worker));
}

function sftpCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 200)}...` : line;
}

/** A command named in an error: the program and its arguments on one line, cut short. */
function describe(argv: readonly string[]): string {
  return `"${oneLine(argv.join(' '))}"`;
}
