import { Injectable } from '@nestjs/common';
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
 * The Asterisk nodes an apply configures, and the one way to reach one: `open` connects
 * (nothing for the local node, one SSH session for a remote one) and gives that node's
 * ConfigWriter and CLI over the same connection.
 */
@Injectable()
export class AsteriskNodes {
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
    const connection: NodeConnection =
      node.transport === 'ssh'
        ? await SshConnection.open(node, timeoutMs)
        : new LocalConnection(node, this.processes, timeoutMs);
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
      close: () => connection.close(),
    };
  }

  /** Runs `work` on a connected node and always closes the connection. */
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
}
