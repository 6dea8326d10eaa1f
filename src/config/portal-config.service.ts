import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { EndpointSettings } from '../asterisk/generation/types';
import { EnvironmentVariables, LogLevel, parseTrustProxy } from './env.validation';

/** Typed, read-only access to the validated settings; nothing else reads process.env. */
@Injectable()
export class PortalConfig {
  constructor(private readonly config: ConfigService<EnvironmentVariables, true>) {}

  private get<K extends keyof EnvironmentVariables>(key: K): EnvironmentVariables[K] {
    return this.config.get(key, { infer: true });
  }

  get port(): number {
    return this.get('PORT');
  }
  get host(): string | undefined {
    return this.get('HOST');
  }
  get databaseUrl(): string | undefined {
    return this.get('DATABASE_URL');
  }
  get apiToken(): string | undefined {
    return this.get('PORTAL_API_TOKEN');
  }
  /** Express's `trust proxy`: false (the default), a hop count, or the proxies' addresses. */
  get trustProxy(): false | number | string[] {
    return parseTrustProxy(this.get('TRUST_PROXY')) ?? false;
  }
  get logLevel(): LogLevel {
    return this.get('LOG_LEVEL');
  }
  get extensionRange(): { min: number; max: number } {
    return { min: this.get('EXTENSION_MIN'), max: this.get('EXTENSION_MAX') };
  }
  get authFailureLimit(): { limit: number; windowMs: number } {
    return {
      limit: this.get('AUTH_FAILURE_LIMIT'),
      windowMs: this.get('AUTH_FAILURE_WINDOW_SECONDS') * 1000,
    };
  }
  get sipRealm(): string {
    return this.get('SIP_REALM');
  }
  get sipContext(): string {
    return this.get('SIP_CONTEXT');
  }
  /** What the generators need: the context and the qualify frequency. */
  get generation(): EndpointSettings {
    return { context: this.sipContext, qualifySeconds: this.get('SIP_QUALIFY_SECONDS') };
  }
  get asterisk(): {
    pjsipDir: string;
    dialplanDir: string;
    fileMode: number;
    fileGroup: string | undefined;
    cli: string;
    timeoutMs: number;
  } {
    return {
      pjsipDir: this.get('ASTERISK_PJSIP_DIR'),
      dialplanDir: this.get('ASTERISK_DIALPLAN_DIR'),
      fileMode: parseInt(this.get('ASTERISK_FILE_MODE'), 8),
      fileGroup: this.get('ASTERISK_FILE_GROUP'),
      cli: this.get('ASTERISK_CLI'),
      timeoutMs: this.get('ASTERISK_TIMEOUT_MS'),
    };
  }
}
