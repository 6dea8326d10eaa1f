import { Module } from '@nestjs/common';
import { AsteriskReloader } from './asterisk-reloader';
import { ConfigWriter } from './config-writer';

@Module({
  providers: [ConfigWriter, AsteriskReloader],
  exports: [ConfigWriter, AsteriskReloader],
})
export class AsteriskModule {}
