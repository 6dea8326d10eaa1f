import { Injectable } from '@nestjs/common';
import { classifyCliFailure } from '../asterisk/cli/cli-output-parsers';
import { SharedRead } from '../common/shared-read';
import { AsteriskNodes } from '../asterisk/nodes/asterisk-nodes';
import type { AsteriskNodeConfig } from '../config/asterisk-nodes';
import { PortalConfig } from '../config/portal-config.service';
import { errorMessage } from './apply-run';

export interface NodeHealth {
  node: AsteriskNodeConfig;
  answers: boolean;
  /** Asterisk's version as `core show version` prints it (`22.7.0`); null when unknown. */
  version: string | null;
  /** Why the node does not answer; null when it does. */
  problem: string | null;
}

/** A probe waits at most this long: a node that answers slower is not one to wait for. */
const PROBE_TIMEOUT_MS = 3000;
/** Scrapes and dashboards share one probe per node for this long. */
const PROBE_MAX_AGE_MS = 2000;

/**
 * Whether each node answers, asked with `core show version`: never under the apply lock, so
 * it is not queued behind an apply; one probe per node at a time, reused briefly, so polling
 * costs each node a bounded number of connections.
 */
@Injectable()
export class NodeProbe {
  // The age counts from the answer, so a slow probe is not asked again at once.
  private readonly shared = new SharedRead(
    () => Promise.all(this.nodes.all.map((n) => this.probe(n))),
    'answer',
  );

  constructor(
    private readonly nodes: AsteriskNodes,
    private readonly config: PortalConfig,
  ) {}

  all(): Promise<NodeHealth[]> {
    return this.shared.get(PROBE_MAX_AGE_MS);
  }

  private async probe(node: AsteriskNodeConfig): Promise<NodeHealth> {
    const timeoutMs = Math.min(PROBE_TIMEOUT_MS, this.config.asterisk.timeoutMs);
    try {
      return await this.nodes.with(
        node,
        async ({ reloader }) => {
          const res = await reloader.run('core show version');
          const failure = classifyCliFailure(res.stdout, res.stderr, res.exitCode);
          if (failure) return { node, answers: false, version: null, problem: failure };
          const version = /^Asterisk (\S+)/m.exec(res.stdout)?.[1] ?? null;
          return { node, answers: true, version, problem: null };
        },
        timeoutMs,
      );
    } catch (err) {
      return { node, answers: false, version: null, problem: errorMessage(err) };
    }
  }
}
