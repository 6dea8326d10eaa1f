import { Global, Module } from '@nestjs/common';
import { AuditWriter } from './audit-writer';
import { AuditController } from './audit.controller';
import { AuditRepository } from './audit.repository';
import { AuditService } from './audit.service';

/** The change audit: AuditWriter for every module that changes something, GET /audit. */
@Global()
@Module({
  controllers: [AuditController],
  providers: [AuditRepository, AuditService, AuditWriter],
  exports: [AuditWriter],
})
export class AuditModule {}
