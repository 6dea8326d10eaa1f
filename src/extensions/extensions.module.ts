import { Module } from '@nestjs/common';
import { ExtensionAllocator } from './extension-allocator';
import { ExtensionsController } from './extensions.controller';
import { ExtensionsRepository } from './extensions.repository';
import { ExtensionsService } from './extensions.service';

@Module({
  controllers: [ExtensionsController],
  providers: [ExtensionsRepository, ExtensionAllocator, ExtensionsService],
  exports: [ExtensionsRepository, ExtensionAllocator],
})
export class ExtensionsModule {}
