import { Module } from '@nestjs/common';
import { AsteriskReloader } from './asterisk-reloader';
import { CliProcessRunner } from './cli/cli-process-runner';
import { ConfigWriter } from './config-writer';
import { RegistrationReader } from './registration-reader';

@Module({
  providers: [ConfigWriter, CliProcessRunner, AsteriskReloader, RegistrationReader],
  exports: [ConfigWriter, AsteriskReloader, RegistrationReader],
})
export class AsteriskModule {}
