export {
  createPortalClient,
  type PortalClient,
  type PortalClientOptions,
  type PortalError,
} from './client';
export { verifyWebhook, type WebhookEvent, type WebhookHeaders } from './webhook';
export {
  InjectPortalClient,
  PORTAL_CLIENT,
  PortalClientModule,
  type PortalClientModuleAsyncOptions,
  type PortalClientModuleOptions,
} from './portal-client.module';
export type { components, operations, paths } from './generated/portal-api';
