import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { AsteriskNodes } from '../asterisk/nodes/asterisk-nodes';
import type { AsteriskNodeConfig } from '../config/asterisk-nodes';
import { ApplyInterruptions } from './apply-audit';
import { errorMessage } from './apply-run';
import { ApplyLock } from './apply-lock';
import { KINDS } from './file-plan';

/** Start-up clean-up after a portal that died in the middle of an apply. */
@Injectable()
export class ApplyRecovery implements OnApplicationBootstrap {
  private readonly logger = new Logger(ApplyRecovery.name);

  constructor(
    private readonly lock: ApplyLock,
    private readonly interruptions: ApplyInterruptions,
    private readonly nodes: AsteriskNodes,
  ) {}

  /**
   * Recovers from a crash mid-apply, but only when no apply runs in any process: removes temp
   * files on every node, and if an apply was interrupted puts each node's last good pair of
   * files back, so a node's two files are never left from different applies. Asterisk is not
   * reloaded (only an apply does that); `GET /apply/status` shows the change as pending. A
   * node that cannot be reached now is left as it is: the next apply rewrites its files.
   */
  async onApplicationBootstrap(): Promise<void> {
    try {
      await this.lock.tryRun(async () => {
        const interrupted = await this.interruptions.close();
        await Promise.all(this.nodes.all.map((node) => this.recoverNode(node, interrupted > 0)));
        if (interrupted) this.logger.warn(`Closed ${interrupted} interrupted apply audit row(s)`);
      });
    } catch (err) {
      this.logger.warn(`Start-up recovery skipped: ${errorMessage(err)}`);
    }
  }

  private async recoverNode(node: AsteriskNodeConfig, interrupted: boolean): Promise<void> {
    try {
      await this.nodes.with(node, async ({ writer }) => {
        const removed = await writer.removeStaleTempFiles();
        let restored = 0;
        const good = interrupted ? await writer.readLastGood() : null;
        if (good) {
          for (const kind of KINDS) {
            if (good[kind] !== (await writer.read(kind))) {
              await writer.restore(kind, good[kind]);
              restored++;
            }
          }
        }
        if (removed.length || restored) {
          this.logger.warn(
            `Recovered node ${node.name} from an interrupted apply: removed ${removed.length} temp file(s), restored ${restored} file(s) to the last good version`,
          );
        }
      });
    } catch (err) {
      this.logger.warn(`Start-up recovery of node ${node.name} skipped: ${errorMessage(err)}`);
    }
  }
}
