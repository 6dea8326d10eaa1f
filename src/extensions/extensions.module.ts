import { Module } from '@nestjs/common';
import { ExtensionAllocator } from './extension-allocator';

@Module({
  providers: [ExtensionAllocator],
  exports: [ExtensionAllocator],
})
export class ExtensionsModule {}
