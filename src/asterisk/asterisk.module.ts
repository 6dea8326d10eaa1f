import { Module } from '@nestjs/common';
import { AsteriskReloader } from './asterisk-reloader';
import { CliProcessRunner } from './cli/cli-process-runner';
import { ConfigWriter } from './config-writer';

@Module({
  providers: [ConfigWriter, CliProcessRunner, AsteriskReloader],
  exports: [ConfigWriter, AsteriskReloader],
})
export class AsteriskModule {}
