import { DynamicModule, Global, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { validateEnvironment } from './env.validation';
import { PortalConfig } from './portal-config.service';

@Global()
@Module({})
export class PortalConfigModule {
  /** Reads and validates the environment when the app is assembled, not when this file loads. */
  static forRoot(): DynamicModule {
    return {
      module: PortalConfigModule,
      imports: [ConfigModule.forRoot({ cache: true, validate: validateEnvironment })],
      providers: [PortalConfig],
      exports: [PortalConfig],
    };
  }
}
