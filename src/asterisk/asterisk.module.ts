import { Module } from '@nestjs/common';
import { CliProcessRunner } from './cli/cli-process-runner';
import { AsteriskNodes } from './nodes/asterisk-nodes';

@Module({
  providers: [CliProcessRunner, AsteriskNodes],
  exports: [AsteriskNodes],
})
export class AsteriskModule {}
