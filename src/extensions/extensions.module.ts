import { Module } from '@nestjs/common';
import { ExtensionAllocator } from './extension-allocator';
import { ExtensionsRepository } from './extensions.repository';

@Module({
  providers: [ExtensionsRepository, ExtensionAllocator],
  exports: [ExtensionsRepository, ExtensionAllocator],
})
export class ExtensionsModule {}
