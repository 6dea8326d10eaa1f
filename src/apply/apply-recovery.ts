import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigWriter } from '../asterisk/config-writer';
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
    private readonly writer: ConfigWriter,
  ) {}

  /**
   * Recovers from a crash mid-apply, but only when no apply runs in any process: removes temp
   * files, and if an apply was interrupted puts the last good pair of files back, so the two
   * files are never left from different applies. Asterisk is not reloaded (only an apply
   * does that); `GET /apply/status` shows the change as pending.
   */
  async onApplicationBootstrap(): Promise<void> {
    try {
      await this.lock.tryRun(async () => {
        const removed = await this.writer.removeStaleTempFiles();
        const interrupted = await this.interruptions.close();
        let restored = 0;
        const good = interrupted > 0 ? await this.writer.readLastGood() : null;
        if (good) {
          for (const kind of KINDS) {
            if (good[kind] !== (await this.writer.read(kind))) {
              await this.writer.restore(kind, good[kind]);
              restored++;
            }
          }
        }
        if (removed.length || interrupted) {
          this.logger.warn(
            `Recovered from an interrupted apply: removed ${removed.length} temp file(s), restored ${restored} file(s) to the last good version, closed ${interrupted} audit row(s)`,
          );
        }
      });
    } catch (err) {
      this.logger.warn(`Start-up recovery skipped: ${errorMessage(err)}`);
    }
  }
}
