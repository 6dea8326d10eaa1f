import { Module } from '@nestjs/common';
import { ExtensionsModule } from '../extensions/extensions.module';
import { RegistrationModule } from '../registration/registration.module';
import { BulkRepository } from './bulk/bulk.repository';
import { UserBulkController } from './bulk/user-bulk.controller';
import { UserExportService } from './bulk/user-export.service';
import { UserImportService } from './bulk/user-import.service';
import { UsersController } from './users.controller';
import { UsersRepository } from './users.repository';
import { UsersService } from './users.service';

@Module({
  imports: [ExtensionsModule, RegistrationModule],
  // UserBulkController first: Express matches routes in registration order, and its
  // GET /users/export must come before any GET /users/:id of UsersController.
  controllers: [UserBulkController, UsersController],
  providers: [UsersRepository, UsersService, BulkRepository, UserImportService, UserExportService],
  exports: [UsersRepository],
})
export class UsersModule {}
