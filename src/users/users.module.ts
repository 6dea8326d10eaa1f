import { Module } from '@nestjs/common';
import { AsteriskModule } from '../asterisk/asterisk.module';
import { ExtensionsModule } from '../extensions/extensions.module';
import { RegistrationService } from './registration.service';
import { UsersController } from './users.controller';
import { UsersRepository } from './users.repository';
import { UsersService } from './users.service';

@Module({
  imports: [ExtensionsModule, AsteriskModule],
  controllers: [UsersController],
  providers: [UsersRepository, UsersService, RegistrationService],
  exports: [RegistrationService],
})
export class UsersModule {}
