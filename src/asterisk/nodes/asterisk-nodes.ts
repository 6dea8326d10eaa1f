import { Injectable, OnModuleDestroy } from '@nestjs/common';
import type { AsteriskNodeConfig } from '../../config/asterisk-nodes';
import { PortalConfig } from '../../config/portal-config.service';
import { AsteriskReloader } from '../asterisk-reloader';
import { CliProcessRunner } from '../cli/cli-process-runner';
import { ConfigWriter, SettingName } from '../config-writer';
import { LocalConnection } from './local-connection';
import type { NodeConnection } from './node-connection';
import { SshConnection } from './ssh-connection';

/** One node, connected: its files and its CLI, until `close`. */
export interface NodeSession {
  node: AsteriskNodeConfig;
  writer: ConfigWriter;
  reloader: AsteriskReloader;
  close(): Promise<void>;
}

const ENV_NAMES = {
  pjsipDir: 'ASTERISK_PJSIP_DIR',
  dialplanDir: 'ASTERISK_DIALPLAN_DIR',
  fileGroup: 'ASTERISK_FILE_GROUP',
} as const;

/**
 * How long an SSH session is kept after its last use. Opening one costs a TCP handshake, a key
 * exchange and key authentication (about 100 ms on loopback on a busy 2-CPU machine, more
 * across sites); applies, registration listings (every 2 s while polled) and node probes in a
 * row share it. Unused for this long, it is closed.
 */
export const SSH_IDLE_MS = 30_000;

interface KeptSession {
  connection: Promise<SshConnection>;
  users: number;
  idle: NodeJS.Timeout | null;
}

/**
 * The Asterisk nodes an apply configures, and the one way to reach one: `open` gives that
 * node's ConfigWriter and CLI over one connection (nothing to open for the local node; for a
 * remote one, an SSH session kept for SSH_IDLE_MS after its last use, and opened again once
 * lost).
 */
@Injectable()
export class AsteriskNodes implements OnModuleDestroy {
  private readonly sessions = new Map<string, KeptSession>();

  constructor(
    private readonly config: PortalConfig,
    private readonly processes: CliProcessRunner,
  ) {}

  get all(): readonly AsteriskNodeConfig[] {
    return this.config.nodes;
  }

  /** Connects to `node`; throws (an SshError, one line naming the node) when it cannot. */
  async open(
    node: AsteriskNodeConfig,
    timeoutMs = this.config.asterisk.timeoutMs,
  ): Promise<NodeSession> {
    let connection: NodeConnection;
    let release: () => Promise<void> = () => Promise.resolve();
    if (node.transport === 'ssh') {
      const kept = await this.sshSession(node, timeoutMs);
      connection = await kept.connection;
      release = () => this.release(node.name, kept);
    } else {
      connection = new LocalConnection(node, this.processes);
    }
    const fromFile = this.config.nodesFromFile;
    const setting: SettingName = (field) =>
      fromFile ? `node ${node.name} ${field}` : ENV_NAMES[field];
    return {
      node,
      writer: new ConfigWriter(node, connection, setting),
      reloader: new AsteriskReloader(connection, {
        cliLabel: fromFile
          ? `${JSON.stringify(node.cli)} (node ${node.name} cli)`
          : `${JSON.stringify(node.cli[0])} (ASTERISK_CLI)`,
        timeoutMs,
        extensionRange: this.config.extensionRange,
      }),
      close: release,
    };
  }

  /** Runs `work` on a connected node and always closes (or releases) the connection. */
  async with<T>(
    node: AsteriskNodeConfig,
    work: (session: NodeSession) => Promise<T>,
    timeoutMs?: number,
  ): Promise<T> {
    const session = await this.open(node, timeoutMs);
    try {
      return await work(session);
    } finally {
      await session.close().catch(() => undefined);
    }
  }

  async onModuleDestroy(): Promise<void> {
    const kept = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(kept.map((k) => this.closeKept(k)));
  }

  /** The node's live session, or a new one; a failed connect is forgotten at once. */
  private async sshSession(node: AsteriskNodeConfig, timeoutMs: number): Promise<KeptSession> {
    const current = this.sessions.get(node.name);
    if (current) {
      const live = await current.connection.then(
        (c) => c.alive,
        () => false,
      );
      if (live && this.sessions.get(node.name) === current) {
        current.users++;
        if (current.idle) clearTimeout(current.idle);
        current.idle = null;
        return current;
      }
      if (this.sessions.get(node.name) === current) this.sessions.delete(node.name);
    }
    const kept: KeptSession = {
      connection: SshConnection.open(node, timeoutMs),
      users: 1,
      idle: null,
    };
    this.sessions.set(node.name, kept);
    kept.connection.catch(() => {
      if (this.sessions.get(node.name) === kept) this.sessions.delete(node.name);
    });
    await kept.connection;
    return kept;
  }

  private async release(name: string, kept: KeptSession): Promise<void> {
    kept.users--;
    if (kept.users > 0) return;
    if (this.sessions.get(name) !== kept) return this.closeKept(kept);
    kept.idle = setTimeout(() => {
      if (this.sessions.get(name) === kept && kept.users === 0) {
        this.sessions.delete(name);
        void this.closeKept(kept);
      }
    }, SSH_IDLE_MS);
    kept.idle.unref();
    return Promise.resolve();
  }

  private async closeKept(kept: KeptSession): Promise<void> {
    if (kept.idle) clearTimeout(kept.idle);
    await kept.connection.then((c) => c.close()).catch(() => undefined);
  }
}
