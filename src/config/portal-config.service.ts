import { type AsteriskNodeConfig, loadAsteriskNodes } from './asterisk-nodes';
import {
  ConfigValidationError,
  DEFAULT_RETRY_SCHEDULE,
  EnvironmentVariables,
  LogLevel,
  parseAllowedNetworks,
  parseRetrySchedule,
  parseTrustProxy,
} from './env.validation';

/**
 * What the SIP generators need. Declared here, not imported from asterisk/generation, so the
 * configuration depends on no feature module; the generators' own type has the same shape.
 */
export interface SipGenerationSettings {
  /** The dialplan context the endpoints land in. */
  context: string;
  /** Seconds between OPTIONS to each registered phone; 0 sends none. */
  qualifySeconds: number;
}

/**
 * What start-up learns after validation: the embedded database's URL, the kept token, and the
 * nodes validateConfiguration loaded (so the nodes file is read once).
 */
export interface PortalConfigOverrides {
  databaseUrl?: string;
  apiToken?: string;
  nodes?: readonly AsteriskNodeConfig[];
}

/**
 * Typed, read-only access to the validated settings; nothing else reads process.env.
 *
 * Built once from the object validateEnvironment returned and handed to the app as a value
 * (PortalConfigModule.forRoot), so nothing is validated twice or written back into
 * process.env; @nestjs/config's ConfigModule would only re-read the environment, so it is not
 * used.
 */
export class PortalConfig {
  private readonly env: Readonly<EnvironmentVariables>;
  private readonly asteriskNodes: readonly AsteriskNodeConfig[];

  constructor(env: EnvironmentVariables, overrides: PortalConfigOverrides = {}) {
    this.env = Object.freeze({
      ...env,
      DATABASE_URL: overrides.databaseUrl ?? env.DATABASE_URL,
      PORTAL_API_TOKEN: overrides.apiToken ?? env.PORTAL_API_TOKEN,
    });
    this.asteriskNodes = Object.freeze((overrides.nodes ?? nodesOf(env)).map(frozenNode));
  }

  private get<K extends keyof EnvironmentVariables>(key: K): EnvironmentVariables[K] {
    return this.env[key];
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
  get generation(): SipGenerationSettings {
    return { context: this.sipContext, qualifySeconds: this.get('SIP_QUALIFY_SECONDS') };
  }
  /** The Asterisk nodes an apply reaches: ASTERISK_NODES_FILE's, or the one `local` node. */
  /** True when the nodes come from ASTERISK_NODES_FILE; messages then name the node's field. */
  get nodesFromFile(): boolean {
    return this.get('ASTERISK_NODES_FILE') !== undefined;
  }
  get nodes(): readonly AsteriskNodeConfig[] {
    return this.asteriskNodes;
  }
  /** The settings of the node the environment describes (ASTERISK_NODES_FILE aside). */
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
  /**
   * Webhooks: where they may go beyond public addresses, when failed ones are retried, and how
   * long finished ones are kept.
   */
  get webhooks(): {
    allowedNetworks: string[];
    retrySchedule: number[];
    phonePollSeconds: number;
    retentionDays: number;
  } {
    return {
      allowedNetworks: parseAllowedNetworks(this.get('WEBHOOK_ALLOWED_NETWORKS')) ?? [],
      retrySchedule:
        parseRetrySchedule(this.get('WEBHOOK_RETRY_SCHEDULE')) ?? DEFAULT_RETRY_SCHEDULE,
      phonePollSeconds: this.get('PHONE_EVENTS_POLL_SECONDS'),
      retentionDays: this.get('WEBHOOK_RETENTION_DAYS'),
    };
  }
}

/**
 * The nodes when start-up passed none (tests, scripts): the default local node, or the nodes
 * file read here, refused the way start-up refuses it.
 */
function nodesOf(env: EnvironmentVariables): AsteriskNodeConfig[] {
  const loaded = loadAsteriskNodes(env);
  if ('problems' in loaded) throw new ConfigValidationError(loaded.problems);
  return loaded.nodes;
}

/** A copy nobody can change: the configuration is read by every module. */
function frozenNode(node: AsteriskNodeConfig): AsteriskNodeConfig {
  return Object.freeze({
    ...node,
    cli: Object.freeze([...node.cli]) as string[],
    ...(node.ssh ? { ssh: Object.freeze({ ...node.ssh }) } : {}),
  });
}
