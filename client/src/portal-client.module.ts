import {
  type DynamicModule,
  Inject,
  type InjectionToken,
  Module,
  type ModuleMetadata,
  type OptionalFactoryDependency,
} from '@nestjs/common';
import { createPortalClient, type PortalClientOptions } from './client';

/** The injection token of the client; `@InjectPortalClient()` is the same. */
export const PORTAL_CLIENT = 'SYNERGYCALL_PORTAL_CLIENT';

/** Injects the `PortalClient` that `PortalClientModule` provides. */
export const InjectPortalClient = (): PropertyDecorator & ParameterDecorator =>
  Inject(PORTAL_CLIENT);

export interface PortalClientModuleOptions extends PortalClientOptions {
  /** Provide the client to every module, not only to those that import this one. */
  isGlobal?: boolean;
}

export interface PortalClientModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  useFactory: (
    ...args: any[] // eslint-disable-line @typescript-eslint/no-explicit-any -- Nest's own factory signature
  ) => PortalClientOptions | Promise<PortalClientOptions>;
  inject?: (InjectionToken | OptionalFactoryDependency)[];
  isGlobal?: boolean;
}

/** Provides a `PortalClient` under `PORTAL_CLIENT` to a Nest application. */
@Module({})
export class PortalClientModule {
  static forRoot({ isGlobal, ...options }: PortalClientModuleOptions): DynamicModule {
    return {
      module: PortalClientModule,
      global: isGlobal ?? false,
      providers: [{ provide: PORTAL_CLIENT, useValue: createPortalClient(options) }],
      exports: [PORTAL_CLIENT],
    };
  }

  static forRootAsync(options: PortalClientModuleAsyncOptions): DynamicModule {
    return {
      module: PortalClientModule,
      global: options.isGlobal ?? false,
      imports: options.imports ?? [],
      providers: [
        {
          provide: PORTAL_CLIENT,
          useFactory: async (...args: unknown[]) =>
            createPortalClient(await options.useFactory(...args)),
          inject: options.inject ?? [],
        },
      ],
      exports: [PORTAL_CLIENT],
    };
  }
}
