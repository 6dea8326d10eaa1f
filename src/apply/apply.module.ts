import { Module } from '@nestjs/common';
import { AsteriskModule } from '../asterisk/asterisk.module';
import { ApplyAudit } from './apply-audit';
import { ApplyController } from './apply.controller';
import { ApplyLock } from './apply-lock';
import { ApplyService } from './apply.service';

@Module({
  imports: [AsteriskModule],
  controllers: [ApplyController],
  providers: [ApplyService, ApplyAudit, ApplyLock],
})
export class ApplyModule {}
