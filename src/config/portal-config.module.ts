import { DynamicModule, Global, Module } from '@nestjs/common';
import { PortalConfig } from './portal-config.service';

@Global()
@Module({})
export class PortalConfigModule {
  /** Provides the configuration start-up validated and completed; nothing is read here. */
  static forRoot(config: PortalConfig): DynamicModule {
    return {
      module: PortalConfigModule,
      providers: [{ provide: PortalConfig, useValue: config }],
      exports: [PortalConfig],
    };
  }
}
