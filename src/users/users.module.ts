import { Module } from '@nestjs/common';
import { ExtensionsModule } from '../extensions/extensions.module';
import { UsersController } from './users.controller';
import { UsersService } from './users.service';

@Module({
  imports: [ExtensionsModule],
  controllers: [UsersController],
  providers: [UsersService],
})
export class UsersModule {}
