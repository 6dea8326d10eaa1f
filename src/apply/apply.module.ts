import { Module } from '@nestjs/common';
import { AsteriskModule } from '../asterisk/asterisk.module';
import { DatabaseModule } from '../database/database.module';
import { UsersModule } from '../users/users.module';
import { ApplyInterruptions } from './apply-audit';
import { ApplyController } from './apply.controller';
import { ApplyLock } from './apply-lock';
import { ApplyMetrics } from './apply-metrics';
import { ApplyPreviewService } from './apply-preview.service';
import { ApplyRecovery } from './apply-recovery';
import { ApplyRepository } from './apply.repository';
import { ApplyService } from './apply.service';
import { NodeProbe } from './node-probe.service';
import { NodesController } from './nodes.controller';

@Module({
  imports: [DatabaseModule, AsteriskModule, UsersModule],
  controllers: [ApplyController, NodesController],
  providers: [
    ApplyService,
    ApplyPreviewService,
    ApplyRecovery,
    ApplyRepository,
    ApplyLock,
    ApplyInterruptions,
    ApplyMetrics,
    NodeProbe,
  ],
})
export class ApplyModule {}
