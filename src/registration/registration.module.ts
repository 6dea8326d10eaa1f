import { Module } from '@nestjs/common';
import { AsteriskModule } from '../asterisk/asterisk.module';
import { RegistrationReader } from './registration-reader';
import { RegistrationService } from './registration.service';

/**
 * Whether phones are registered: Asterisk's state, read through its CLI. It knows no users;
 * callers pass the numbers they want states for.
 */
@Module({
  imports: [AsteriskModule],
  providers: [RegistrationReader, RegistrationService],
  exports: [RegistrationService],
})
export class RegistrationModule {}
