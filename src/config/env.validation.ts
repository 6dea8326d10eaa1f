import { plainToInstance, Transform } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  Validate,
  ValidationArguments,
  ValidationError,
  ValidatorConstraint,
  ValidatorConstraintInterface,
  validateSync,
} from 'class-validator';
import ipaddr from 'ipaddr.js';
import { isIP } from 'node:net';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** An octal file mode such as 0640, as ASTERISK_FILE_MODE and a node's fileMode take it. */
export const FILE_MODE_PATTERN = /^0?[0-7]{3}$/;
/** A group name or gid, as ASTERISK_FILE_GROUP and a node's fileGroup take it. */
export const FILE_GROUP_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

const toInt = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;

/** Why a PORTAL_API_TOKEN value cannot work, or undefined when it can. */
export function apiTokenProblem(token: string): string | undefined {
  if (!/\S/.test(token)) return 'must not be blank (it is whitespace only)';
  // HTTP trims a header value, so a client can never send such a token: every client would
  // be locked out.
  if (/^\s|\s$/.test(token)) return 'must not begin or end with whitespace';
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  if (/[\x00-\x1f\x7f]/.test(token)) return 'must not contain control characters';
  if (token.length < 16) return 'must be at least 16 characters';
  return undefined;
}

@ValidatorConstraint({ name: 'apiToken' })
class ApiTokenShape implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return typeof value === 'string' && apiTokenProblem(value) === undefined;
  }
  defaultMessage(args: ValidationArguments): string {
    const value: unknown = args.value;
    const why = typeof value === 'string' ? apiTokenProblem(value) : 'must be a string';
    return `${args.property} ${why ?? 'is invalid'}`;
  }
}

const PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

/** One entry of TRUST_PROXY: an Express subnet name, an address, or an address/prefix. */
function isProxyEntry(entry: string): boolean {
  if (PROXY_NAMES.includes(entry)) return true;
  const [address, prefix, extra] = entry.split('/');
  const family = isIP(address);
  if (!family || extra !== undefined) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * TRUST_PROXY: which proxies' X-Forwarded-Proto and X-Forwarded-For the portal believes (so an
 * HTTPS proxy in front makes the CSP upgrade insecure requests, and the failed-auth limit
 * counts the real client). `false` (the default) trusts none; a number trusts that many hops;
 * otherwise a comma-separated list of addresses, subnets, or loopback, linklocal, uniquelocal.
 * `true` is refused: it would let any client claim any address and dodge the limit.
 */
@ValidatorConstraint({ name: 'trustProxy' })
class TrustProxy implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return typeof value === 'string' && parseTrustProxy(value) !== undefined;
  }
  defaultMessage(args: ValidationArguments): string {
    const why = String(args.value).trim() === 'true' ? ' (true would trust every client)' : '';
    return `${args.property} must be false, a hop count, or the proxies' addresses or subnets, comma-separated (loopback, linklocal, uniquelocal, 10.0.0.5, 10.0.0.0/8)${why}`;
  }
}

/** Express's `trust proxy` value for TRUST_PROXY, or undefined when it is not valid. */
export function parseTrustProxy(raw: string | undefined): false | number | string[] | undefined {
  const value = (raw ?? '').trim();
  if (value === '' || value === 'false' || value === '0') return false;
  if (/^\d+$/.test(value)) return Number(value) <= 100 ? Number(value) : undefined;
  const entries = value.split(',').map((entry) => entry.trim());
  return entries.every(isProxyEntry) ? entries : undefined;
}

/** WEBHOOK_ALLOWED_NETWORKS: the CIDRs, or undefined when one entry is not a CIDR. */
export function parseAllowedNetworks(raw: string | undefined): string[] | undefined {
  const value = (raw ?? '').trim();
  if (value === '') return [];
  const entries = value.split(',').map((entry) => entry.trim());
  return entries.every(isCidr) ? entries : undefined;
}

/**
 * A network written the one way that cannot be misread: a full address as node's isIP takes it
 * (no `10/8` shorthand, no octal `010.0.0.0`, which ipaddr.js would read as other networks), a
 * prefix length in range, and no host bits set.
 */
function isCidr(entry: string): boolean {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(entry);
  if (!m) return false;
  const family = isIP(m[1]);
  const bits = Number(m[2]);
  if (family === 0 || bits > (family === 4 ? 32 : 128)) return false;
  if (family === 4 && m[1].split('.').some((octet) => /^0\d/.test(octet))) return false;
  try {
    const [address, prefix] = ipaddr.parseCIDR(entry);
    const bytes = address.toByteArray();
    // Every bit past the prefix must be 0: `10.0.0.1/8` names no network clearly.
    const hostBits = bytes.some((byte, i) => {
      const kept = Math.min(8, Math.max(0, prefix - i * 8));
      return (byte & (0xff >> kept)) !== 0;
    });
    return prefix === bits && !hostBits;
  } catch {
    return false;
  }
}

@ValidatorConstraint({ name: 'allowedNetworks' })
class AllowedNetworks implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return typeof value === 'string' && parseAllowedNetworks(value) !== undefined;
  }
  defaultMessage(args: ValidationArguments): string {
    return `${args.property} must be comma-separated CIDRs (10.20.0.0/16, 192.168.1.10/32, fd00::/8)`;
  }
}

/** The default retry delays of a webhook delivery, in seconds: about 28 hours in all. */
export const DEFAULT_RETRY_SCHEDULE = [5, 300, 1800, 7200, 18000, 36000, 36000];

/** WEBHOOK_RETRY_SCHEDULE: seconds (decimals allowed), or undefined when it is not valid. */
export function parseRetrySchedule(raw: string | undefined): number[] | undefined {
  const value = (raw ?? '').trim();
  if (value === '') return DEFAULT_RETRY_SCHEDULE;
  const entries = value.split(',').map((entry) => entry.trim());
  if (entries.length > 50) return undefined;
  if (!entries.every((entry) => /^\d{1,6}(\.\d{1,3})?$/.test(entry))) return undefined;
  const delays = entries.map(Number);
  return delays.every((d) => d <= 604800) ? delays : undefined;
}

@ValidatorConstraint({ name: 'retrySchedule' })
class RetrySchedule implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return typeof value === 'string' && parseRetrySchedule(value) !== undefined;
  }
  defaultMessage(args: ValidationArguments): string {
    return `${args.property} must be up to 50 delays in seconds, comma-separated, each at most 604800 (5,300,1800)`;
  }
}

/** Every setting the portal reads, with its default. Names are stable: operators script them. */
export class EnvironmentVariables {
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(65535)
  PORT = 3000;

  @IsOptional()
  @IsString()
  HOST?: string;

  @IsOptional()
  @Matches(/^postgres(ql)?:\/\/\S+$/, { message: '$property must be a postgres:// URL' })
  DATABASE_URL?: string;

  @IsOptional()
  @Validate(ApiTokenShape)
  PORTAL_API_TOKEN?: string;

  /** See TrustProxy: unset, a hop count, or the proxies' addresses. */
  @IsOptional()
  @Validate(TrustProxy)
  TRUST_PROXY?: string;

  @IsIn(LOG_LEVELS, { message: `$property must be one of ${LOG_LEVELS.join(', ')}` })
  LOG_LEVEL: LogLevel = 'info';

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(99999)
  EXTENSION_MIN = 1000;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(99999)
  EXTENSION_MAX = 1999;

  @Matches(/^[A-Za-z0-9.-]{1,64}$/, {
    message: '$property must be letters, digits, dots or dashes',
  })
  SIP_REALM = 'asterisk';

  @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: '$property must be letters, digits, _ or -' })
  SIP_CONTEXT = 'synergycall-internal';

  /** Seconds between OPTIONS to each registered phone; 0 sends none (then no phone is unreachable). */
  @Transform(toInt)
  @IsInt({ message: '$property must be an integer from 0 to 86400 (seconds; 0 turns qualify off)' })
  @Min(0, {
    message: '$property must be an integer from 0 to 86400 (seconds; 0 turns qualify off)',
  })
  @Max(86400, {
    message: '$property must be an integer from 0 to 86400 (seconds; 0 turns qualify off)',
  })
  SIP_QUALIFY_SECONDS = 60;

  @IsString()
  @Matches(/^\//, { message: '$property must be an absolute path' })
  ASTERISK_PJSIP_DIR = '/etc/asterisk/pjsip.d/synergycall';

  @IsString()
  @Matches(/^\//, { message: '$property must be an absolute path' })
  ASTERISK_DIALPLAN_DIR = '/etc/asterisk/extensions.d/synergycall';

  @Matches(FILE_MODE_PATTERN, { message: '$property must be an octal mode such as 0640' })
  ASTERISK_FILE_MODE = '0640';

  @IsOptional()
  @Matches(FILE_GROUP_PATTERN, { message: '$property must be a group name or gid' })
  ASTERISK_FILE_GROUP?: string;

  @IsString()
  @MinLength(1)
  ASTERISK_CLI = 'asterisk';

  /** A JSON file listing the Asterisk nodes (see asterisk-nodes.ts); unset, one local node. */
  @IsOptional()
  // Control characters would split the one-line problem reports that name the file.
  // eslint-disable-next-line no-control-regex
  @Matches(/^[^\x00-\x1f\x7f]+$/, { message: '$property must be a file path' })
  ASTERISK_NODES_FILE?: string;

  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(600000)
  ASTERISK_TIMEOUT_MS = 15000;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(100000)
  AUTH_FAILURE_LIMIT = 10;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(86400)
  AUTH_FAILURE_WINDOW_SECONDS = 60;

  /** CIDRs a webhook may be delivered to although loopback, private or link-local. */
  @IsOptional()
  @Validate(AllowedNetworks)
  WEBHOOK_ALLOWED_NETWORKS?: string;

  /** Seconds before each retry of a failed delivery; after the last, it is failed. */
  @IsOptional()
  @Validate(RetrySchedule)
  WEBHOOK_RETRY_SCHEDULE?: string;

  /** Seconds between two reads of the phones' states, while a subscription wants phone.*. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(3600)
  PHONE_EVENTS_POLL_SECONDS = 10;

  /** Days a finished webhook delivery (and its event and attempts) is kept for the API. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(3650)
  WEBHOOK_RETENTION_DAYS = 30;

  @IsString()
  EMBEDDED_DB_DIR = './.data';

  @Transform(toInt)
  @IsInt()
  @Min(1024)
  @Max(65535)
  EMBEDDED_DB_PORT = 54329;
}

/** Start-up refused: one line per problem, every problem at once. */
export class ConfigValidationError extends Error {
  override name = 'ConfigValidationError';

  constructor(readonly problems: string[]) {
    super(problems.map((problem) => `Invalid configuration: ${problem}`).join('\n'));
  }
}

const SECRET_VARIABLES = new Set(['PORTAL_API_TOKEN', 'DATABASE_URL']);

/** One sentence for a variable class-validator refused, with the value unless it is secret. */
function describe(error: ValidationError): string {
  const constraints = error.constraints ?? {};
  // A type error explains the value better than a range check on the same value.
  const why = constraints.isInt ?? Object.values(constraints)[0] ?? `${error.property} is invalid`;
  // Never echo a value that may be a secret.
  const shown = SECRET_VARIABLES.has(error.property) ? '' : ` (got ${JSON.stringify(error.value)})`;
  return `${why}${shown}`;
}

/**
 * The environment with its defaults, and every problem with it (none when it is valid). The
 * values are usable only without problems; callers that check more (the nodes file) add their
 * problems to these so everything is reported at once.
 */
export function checkEnvironment(raw: Record<string, unknown>): {
  env: EnvironmentVariables;
  problems: string[];
} {
  // An empty value is unset (`PORTAL_API_TOKEN=` in a .env file), as a shell would treat it.
  const present = Object.fromEntries(
    Object.entries(raw).filter(([, v]) => v !== undefined && v !== ''),
  );
  const env = plainToInstance(EnvironmentVariables, present, { exposeDefaultValues: true });
  const errors = validateSync(env, { skipMissingProperties: false, whitelist: false });
  const problems = errors.map(describe);
  const bad = new Set(errors.map((error) => error.property));
  if (!bad.has('EXTENSION_MIN') && !bad.has('EXTENSION_MAX')) {
    if (env.EXTENSION_MIN > env.EXTENSION_MAX) {
      problems.push(
        `EXTENSION_MIN (${env.EXTENSION_MIN}) is above EXTENSION_MAX (${env.EXTENSION_MAX})`,
      );
    }
  }
  // An operator who points the portal at their own database runs it for real: a token made up
  // at each start would lock every client (and a second instance) out at the next restart or
  // deploy, and put a fresh secret into the log each time; there is no directory of the
  // portal's own to keep one in (EMBEDDED_DB_DIR belongs to the embedded database, the working
  // directory may be read-only or thrown away with the container). So the token is required
  // and a missing one stops the start-up here, where the deploy notices, rather than at the
  // first 401. Only the embedded database, a trial set-up, generates one and keeps it there.
  if (env.DATABASE_URL !== undefined && env.PORTAL_API_TOKEN === undefined) {
    problems.push(
      'PORTAL_API_TOKEN must be set when DATABASE_URL is set (at least 16 characters, e.g. from `openssl rand -base64 32`); only the embedded database generates and keeps one',
    );
  }
  return { env, problems };
}

/**
 * Validates the environment once. Every bad variable is reported at once, one line each, so
 * an operator fixes them in one go rather than one per restart.
 */
export function validateEnvironment(raw: Record<string, unknown>): EnvironmentVariables {
  const { env, problems } = checkEnvironment(raw);
  if (problems.length > 0) throw new ConfigValidationError(problems);
  return env;
}
