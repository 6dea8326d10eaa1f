import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SshError, SshSession, type SshNodeOptions } from '../src/asterisk/transport/ssh-session';
import { AsteriskSandbox } from './support/asterisk-sandbox';
import { startSshd, type TestSshd } from './support/sshd';

const TIMEOUT_MS = 5000;

/** Names of the files in `dir` that Asterisk's `*.conf` include glob would load. */
function confFiles(dir: string): string[] {
  return readdirSync(dir).filter((n) => !n.startsWith('.') && n.endsWith('.conf'));
}

describe('SshSession against a real OpenSSH server', () => {
  let sshd: TestSshd;
  let work: string;
  const sessions: SshSession[] = [];

  const options = (extra: Partial<SshNodeOptions> = {}): SshNodeOptions => ({
    name: 'pbx-test',
    host: '127.0.0.1',
    port: sshd.port,
    username: sshd.username,
    privateKey: sshd.privateKey,
    hostKey: sshd.hostKeyFingerprint,
    timeoutMs: TIMEOUT_MS,
    ...extra,
  });
  const open = async (extra: Partial<SshNodeOptions> = {}): Promise<SshSession> => {
    const session = await SshSession.open(options(extra));
    sessions.push(session);
    return session;
  };

  beforeAll(async () => {
    sshd = await startSshd();
  });
  beforeEach(() => {
    work = mkdtempSync(path.join(os.tmpdir(), 'portal-ssh-'));
  });
  afterEach(async () => {
    await Promise.all(sessions.splice(0).map((s) => s.close()));
    rmSync(work, { recursive: true, force: true });
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  it('connects with the key and runs a command', async () => {
    const session = await open();
    const res = await session.run(['id', '-un']);
    expect(res).toEqual({ code: 0, signal: null, stdout: `${sshd.username}\n`, stderr: '' });
    const failing = await session.run(['sh', '-c', 'echo oops >&2; exit 3']);
    expect(failing).toMatchObject({ code: 3, stdout: '', stderr: 'oops\n' });
  });

  it('refuses a host whose key is not the pinned one, before anything runs', async () => {
    const marker = path.join(work, 'ran');
    const wrong = `SHA256:${Buffer.alloc(32, 7).toString('base64').replace(/=+$/, '')}`;
    const attempt = (async () => {
      const session = await open({ hostKey: wrong });
      await session.run(['touch', marker]);
    })();
    await expect(attempt).rejects.toThrow(
      new SshError(
        `host key mismatch on pbx-test: expected ${wrong}, got ${sshd.hostKeyFingerprint}`,
      ),
    );
    expect(existsSync(marker)).toBe(false);
  });

  it('refuses a malformed hostKey without connecting', async () => {
    await expect(open({ hostKey: 'ab:cd:ef' })).rejects.toThrow(
      'ssh pbx-test: hostKey must be SHA256:<base64>',
    );
  });

  it('refuses a key the server does not accept, naming the node and the user', async () => {
    const other = path.join(work, 'other');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    const key = readFileSync(other);
    const err = (await open({ privateKey: key }).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(SshError);
    expect(err.message).toMatch(/^ssh pbx-test: key authentication as \S+ refused/);
    expect(err.message).not.toContain(key.toString('utf8').split('\n')[1]);

    const garbage = Buffer.from('-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0\n');
    const bad = (await open({ privateKey: garbage }).catch((e: unknown) => e)) as Error;
    expect(bad.message).toMatch(/^ssh pbx-test: the private key cannot be used: /);
    expect(bad.message).not.toContain('c2VjcmV0');
  });

  it('passes hostile arguments verbatim and never lets the shell act on them', async () => {
    const marker = path.join(work, 'pwned');
    const hostile = [
      `$(touch ${marker})`,
      `\`touch ${marker}\``,
      `; touch ${marker}`,
      `&& touch ${marker}`,
      `| touch ${marker}`,
      `'; touch ${marker}; '`,
      `"; touch ${marker}; "`,
      `line one\ntouch ${marker}\n`,
      '$HOME ${PATH} * ~ \\ \'"',
      'ünïcödé ☎ 🦜',
      '',
    ];
    const session = await open();
    for (const arg of hostile) {
      const res = await session.run(['printf', '%s', arg]);
      expect(res).toMatchObject({ code: 0, stdout: arg, stderr: '' });
    }
    // All at once, as separate words of one command.
    const all = await session.run(['printf', '%s\\0', ...hostile]);
    expect(all.stdout.split('\0').slice(0, -1)).toEqual(hostile);
    expect(existsSync(marker)).toBe(false);
    // A NUL cannot be carried in a command line: refused before anything is sent.
    await expect(session.run(['printf', 'a\0b'])).rejects.toThrow(
      /^ssh pbx-test: cannot run .*: an argument contains a NUL byte$/,
    );
  });

  it('writes a file atomically with its mode, leaving nothing the include glob loads', async () => {
    const target = path.join(work, 'generated_endpoints.conf');
    writeFileSync(target, 'old\n', { mode: 0o600 });
    const session = await open();
    await session.writeFilesAtomic([{ target, content: '[100]\ntype=endpoint\n' }], {
      mode: 0o640,
    });
    expect(readFileSync(target, 'utf8')).toBe('[100]\ntype=endpoint\n');
    expect(statSync(target).mode & 0o777).toBe(0o640);
    expect(readdirSync(work)).toEqual(['generated_endpoints.conf']);

    // A group, and a new file where none was.
    const fresh = path.join(work, 'generated_routing.conf');
    const gid = Number(execFileSync('id', ['-g'], { encoding: 'utf8' }).trim());
    await session.writeFilesAtomic([{ target: fresh, content: 'x' }], { mode: 0o644, gid });
    expect(statSync(fresh)).toMatchObject({ gid });
    expect(statSync(fresh).mode & 0o777).toBe(0o644);

    expect(await session.readFile(target)).toBe('[100]\ntype=endpoint\n');
    expect(await session.readFile(path.join(work, 'missing.conf'))).toBeNull();
    await session.remove(fresh);
    await session.remove(fresh); // already gone: not an error
    expect(confFiles(work)).toEqual(['generated_endpoints.conf']);
  });

  it('names the node and the file when a write fails, and leaves no temp file', async () => {
    const session = await open();
    const target = path.join(work, 'no-such-dir', 'generated_endpoints.conf');
    await expect(
      session.writeFilesAtomic([{ target, content: 'x' }], { mode: 0o640 }),
    ).rejects.toThrow(new RegExp(`^ssh pbx-test: could not write ${target}: `));
    expect(readdirSync(work)).toEqual([]);
  });

  it('keeps the old file when the server side dies in the middle of a write', async () => {
    // Its own server: cutting the connection kills every session of that server.
    const cut = await startSshd();
    try {
      const target = path.join(work, 'generated_endpoints.conf');
      writeFileSync(target, 'old content\n', { mode: 0o640 });
      const session = await SshSession.open({
        ...options(),
        port: cut.port,
        hostKey: cut.hostKeyFingerprint,
        privateKey: cut.privateKey,
      });
      sessions.push(session);
      await session.run(['true']); // the connection is up before the write starts
      const big = Buffer.alloc(96 * 1024 * 1024, 'a');
      const write = session.writeFilesAtomic([{ target, content: big }], { mode: 0o640 });
      const outcome = write.then(
        () => 'written',
        (err: Error) => err.message,
      );
      // Kill once the temp file has grown: the write is under way, the rename not yet sent.
      const deadline = Date.now() + 10000;
      let tempSize = 0;
      while (tempSize < 1024 * 1024 && Date.now() < deadline) {
        const temp = readdirSync(work).find((n) => n.endsWith('.tmp'));
        tempSize = temp ? statSync(path.join(work, temp)).size : 0;
        await new Promise((r) => setTimeout(r, 2));
      }
      expect(tempSize).toBeGreaterThanOrEqual(1024 * 1024);
      for (const pid of cut.sessionPids()) process.kill(pid, 'SIGKILL');
      const message = await outcome;
      expect(message).toMatch(/^ssh pbx-test: could not write .*generated_endpoints\.conf: /);
      expect(readFileSync(target, 'utf8')).toBe('old content\n');
      // What a cut leaves, at most, is a dot-named temp file the include glob never loads.
      expect(confFiles(work)).toEqual(['generated_endpoints.conf']);
      for (const name of readdirSync(work).filter((n) => n !== 'generated_endpoints.conf')) {
        expect(name).toMatch(/^\.generated_endpoints\.conf\.[0-9a-f]{12}\.tmp$/);
      }
      // The session knows it is gone.
      await expect(session.run(['true'])).rejects.toThrow(/^ssh pbx-test: cannot run "true": /);
    } finally {
      await cut.stop();
    }
  });

  it('stops a command at the per-command timeout with a clear error', async () => {
    const session = await open({ timeoutMs: 500 });
    const started = performance.now();
    await expect(session.run(['sleep', '7.25'])).rejects.toThrow(
      new SshError('ssh pbx-test: "sleep 7.25" timed out after 500 ms'),
    );
    expect(performance.now() - started).toBeLessThan(1500);
    // The session also asks sshd to KILL the command; sshd refuses that for a root login
    // ("session signalling requires privilege separation"), so it is not asserted here.
    // The connection stays usable (over SFTP: a new shell alone can take 500 ms, see sshd.ts).
    const file = path.join(work, 'still-here');
    writeFileSync(file, 'yes');
    await expect(session.readFile(file)).resolves.toBe('yes');
  });

  it('fails fast on a closed port', async () => {
    const port = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const { port: p } = server.address() as net.AddressInfo;
        server.close(() => resolve(p));
      });
    });
    const started = performance.now();
    await expect(open({ port, timeoutMs: 2000 })).rejects.toThrow(
      new SshError(`ssh pbx-test: could not connect to 127.0.0.1:${port}: ECONNREFUSED`),
    );
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('gives up at timeoutMs on a port that accepts but never speaks SSH', async () => {
    const sockets: net.Socket[] = [];
    const server = net.createServer((s) => sockets.push(s));
    const port = await new Promise<number>((resolve) => {
      server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
    });
    try {
      const started = performance.now();
      await expect(open({ port, timeoutMs: 700 })).rejects.toThrow(
        new SshError(
          `ssh pbx-test: could not connect to 127.0.0.1:${port}: timed out after 700 ms`,
        ),
      );
      expect(performance.now() - started).toBeLessThan(1500);
    } finally {
      sockets.forEach((s) => s.destroy());
      server.close();
    }
  });

  it('runs the fake Asterisk CLI over SSH as it runs locally', async () => {
    const sandbox = new AsteriskSandbox();
    try {
      const session = await open();
      const config = readFileSync(
        path.join(__dirname, 'fixtures', 'asterisk-22-cli', 'three.generated_endpoints.conf'),
        'utf8',
      );
      await session.writeFilesAtomic([{ target: sandbox.endpointsFile, content: config }], {
        mode: 0o640,
      });
      const reload = await session.run([sandbox.cli, '-rx', 'module reload res_pjsip.so']);
      expect(reload.code).toBe(0);

      const remote = await session.run([sandbox.cli, '-rx', 'pjsip show endpoints']);
      const local = execFileSync(sandbox.cli, ['-rx', 'pjsip show endpoints'], {
        encoding: 'utf8',
      });
      expect(remote).toMatchObject({ code: 0, stdout: local, stderr: '' });
      expect(remote.stdout).toMatch(/Endpoint: {2}\d+/);
      // The wrapper logs $2: the command arrived as one argument.
      expect(sandbox.calls()).toEqual([
        'module reload res_pjsip.so',
        'pjsip show endpoints',
        'pjsip show endpoints',
      ]);
    } finally {
      sandbox.remove();
    }
  });
});
