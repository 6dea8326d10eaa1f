import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildFakeAsterisk } from '../fake-asterisk/build';
import { AsteriskSandbox } from './asterisk-sandbox';
import { startSshd, type TestSshd } from './sshd';

/**
 * The account remote nodes are reached as: a system user whose login shell is /bin/sh, as
 * docs/asterisk.md recommends for a node (no root, no rc file run before every command).
 * Created on first use when the tests run as root (CI does); otherwise the tests log in as
 * whoever runs them.
 */
export const NODE_USER = 'portal-node-test';

export interface NodeAccount {
  name: string;
  uid: number;
  gid: number;
}

export function nodeAccount(): NodeAccount {
  if (process.getuid?.() !== 0) {
    const me = os.userInfo();
    return { name: me.username, uid: me.uid, gid: me.gid };
  }
  const id = (flag: string): number => Number(execFileSync('id', [flag, NODE_USER]).toString());
  try {
    id('-u');
  } catch {
    try {
      // `*`: no password can log in, yet the account is not locked (sshd refuses a locked one).
      execFileSync('useradd', [
        '--system',
        '--no-create-home', // home /: every command starts in a directory that exists
        '--home-dir',
        '/',
        '--shell',
        '/bin/sh',
        '--password',
        '*',
        NODE_USER,
      ]);
    } catch {
      // a parallel test file created it first
    }
  }
  return { name: NODE_USER, uid: id('-u'), gid: id('-g') };
}

/**
 * An Asterisk node reached over SSH on loopback: its own sshd (so one node can go down alone)
 * and its own sandbox with the fake CLI, owned by the node account. The sandbox gets its own
 * copy of the compiled fake, run by the node account without reading the checkout.
 */
export class SshNode {
  readonly keyDir = mkdtempSync(path.join(os.tmpdir(), 'portal-node-key-'));
  readonly keyFile = path.join(this.keyDir, 'id_ed25519');

  private constructor(
    readonly name: string,
    readonly sandbox: AsteriskSandbox,
    readonly sshd: TestSshd,
  ) {
    writeFileSync(this.keyFile, sshd.privateKey, { mode: 0o600 });
  }

  static async start(name: string): Promise<SshNode> {
    const account = nodeAccount();
    const sandbox = new AsteriskSandbox();
    const fake = path.join(sandbox.root, 'fake-asterisk.cjs');
    copyFileSync(buildFakeAsterisk(), fake);
    sandbox.bindCli([process.execPath, fake]);
    execFileSync('chown', ['-R', `${account.uid}:${account.gid}`, sandbox.root]);
    const sshd = await startSshd({ user: account.name });
    return new SshNode(name, sandbox, sshd);
  }

  /** This node's entry of ASTERISK_NODES_FILE. */
  entry(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      name: this.name,
      transport: 'ssh',
      host: '127.0.0.1',
      port: this.sshd.port,
      username: this.sshd.username,
      privateKeyFile: this.keyFile,
      hostKey: this.sshd.hostKeyFingerprint,
      pjsipDir: this.sandbox.pjsipDir,
      dialplanDir: this.sandbox.dialplanDir,
      cli: [this.sandbox.cli],
      ...overrides,
    };
  }

  async close(): Promise<void> {
    await this.sshd.stop();
    this.sandbox.remove();
    rmSync(this.keyDir, { recursive: true, force: true });
  }
}

/** The local node's entry for a sandbox on this machine. */
export function localEntry(name: string, sandbox: AsteriskSandbox): Record<string, unknown> {
  return {
    name,
    transport: 'local',
    pjsipDir: sandbox.pjsipDir,
    dialplanDir: sandbox.dialplanDir,
    cli: [sandbox.cli],
  };
}

/** Writes an ASTERISK_NODES_FILE; returns its path. */
export function writeNodesFile(entries: Record<string, unknown>[]): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'portal-nodes-'));
  const file = path.join(dir, 'nodes.json');
  writeFileSync(file, JSON.stringify(entries, null, 2));
  return file;
}
