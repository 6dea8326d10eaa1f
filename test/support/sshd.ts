import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { readFileSync, rmSync } from 'node:fs';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const SSHD = '/usr/sbin/sshd';
const START_TIMEOUT_MS = 10000;

export interface TestSshd {
  port: number;
  /** The host key's `SHA256:...` as `ssh-keygen -lf` prints it. */
  hostKeyFingerprint: string;
  /** The user key that root's login accepts. */
  privateKey: Buffer;
  username: string;
  /** The per-connection processes (sshd's children and theirs): what a cut connection kills. */
  sessionPids(): number[];
  /** Stops the server and every session, keeping its keys and port for `resume`. */
  halt(): Promise<void>;
  /** Starts the halted server again, same port, same host key. */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

export interface SshdOptions {
  /** The account to log in as (its authorized keys are readable by it); default: ourselves. */
  user?: string;
}

/**
 * Debian's OpenSSH server on a free loopback port, with throw-away host and user keys and its
 * own config: nothing of the machine's ssh setup is read or changed. Logs in as the user the
 * tests run as (root here). Every exec starts that user's shell, and bash reads ~/.bashrc when
 * sshd starts it: a heavy one (pyenv's init takes 0.5 s) is paid by every command.
 */
export async function startSshd(options: SshdOptions = {}): Promise<TestSshd> {
  if (!existsSync(SSHD)) {
    throw new Error(
      `${SSHD} is missing: the SSH tests need Debian's openssh-server (.ci/run installs it)`,
    );
  }
  // sshd's privilege separation needs this directory, which only the packaged service creates.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'portal-sshd-'));
  // sshd reads the authorized keys as the user logging in; the host key stays root's (0600).
  if (options.user) chmodSync(dir, 0o755);
  const hostKey = path.join(dir, 'host_ed25519');
  const userKey = path.join(dir, 'user_ed25519');
  for (const key of [hostKey, userKey]) {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'portal-test', '-f', key]);
  }
  const authorizedKeys = path.join(dir, 'authorized_keys');
  writeFileSync(authorizedKeys, readFileSync(`${userKey}.pub`), {
    mode: options.user ? 0o644 : 0o600,
  });
  const hostKeyFingerprint = execFileSync('ssh-keygen', ['-lf', `${hostKey}.pub`], {
    encoding: 'utf8',
  }).split(' ')[1];

  // A port can be taken between asking and binding; sshd then exits, and another is tried.
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const config = path.join(dir, 'sshd_config');
    writeFileSync(
      config,
      [
        'ListenAddress 127.0.0.1',
        `Port ${port}`,
        `HostKey ${hostKey}`,
        `AuthorizedKeysFile ${authorizedKeys}`,
        `PidFile ${path.join(dir, 'sshd.pid')}`,
        'UsePAM no',
        'StrictModes no',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PermitRootLogin prohibit-password',
        'Subsystem sftp internal-sftp',
        'LogLevel ERROR',
        '',
      ].join('\n'),
    );
    const first = await launch(config, port);
    if (!first.up) {
      if (attempt < 3) continue;
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`sshd did not start on 127.0.0.1:${port}: ${first.log}`);
    }
    let child: ChildProcess | null = first.child;
    const halt = async (): Promise<void> => {
      if (!child) return;
      for (const p of descendants(child.pid!)) killQuietly(p);
      await stopChild(child);
      child = null;
    };
    return {
      port,
      hostKeyFingerprint,
      privateKey: readFileSync(userKey),
      username: options.user ?? os.userInfo().username,
      sessionPids: () => (child ? descendants(child.pid!) : []),
      halt,
      resume: async () => {
        if (child) return;
        const again = await launch(config, port);
        if (!again.up) throw new Error(`sshd did not start again on ${port}: ${again.log}`);
        child = again.child;
      },
      stop: async () => {
        await halt();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
}

/** Runs sshd with `config`; `up` once it accepts TCP on `port`, else it is killed. */
async function launch(
  config: string,
  port: number,
): Promise<{ child: ChildProcess; up: boolean; log: string }> {
  const child = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  const log: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => log.push(chunk.toString()));
  const up = await waitForPort(child, port);
  if (!up) child.kill('SIGKILL');
  return { child, up, log: log.join('').trim() };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** True once sshd accepts TCP on the port; false when it exits or does not come up. */
async function waitForPort(child: ChildProcess, port: number): Promise<boolean> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Every process below `root`, read from /proc. */
function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name is in parentheses and may hold spaces; the ppid follows the state.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parent.set(Number(entry), ppid);
    } catch {
      // the process ended while being read
    }
  }
  const found: number[] = [];
  let frontier = [root];
  while (frontier.length) {
    const next = [...parent].filter(([, ppid]) => frontier.includes(ppid)).map(([pid]) => pid);
    found.push(...next);
    frontier = next;
  }
  return found;
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
