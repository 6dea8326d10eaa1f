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
  validateSync,
} from 'class-validator';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const toInt = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;

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
  @IsString()
  @MinLength(16, { message: '$property must be at least 16 characters' })
  PORTAL_API_TOKEN?: string;

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

  @IsString()
  @Matches(/^\//, { message: '$property must be an absolute path' })
  ASTERISK_PJSIP_DIR = '/etc/asterisk/pjsip.d/synergycall';

  @IsString()
  @Matches(/^\//, { message: '$property must be an absolute path' })
  ASTERISK_DIALPLAN_DIR = '/etc/asterisk/extensions.d/synergycall';

  @Matches(/^0?[0-7]{3}$/, { message: '$property must be an octal mode such as 0640' })
  ASTERISK_FILE_MODE = '0640';

  @IsOptional()
  @Matches(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, { message: '$property must be a group name or gid' })
  ASTERISK_FILE_GROUP?: string;

  @IsString()
  @MinLength(1)
  ASTERISK_CLI = 'asterisk';

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

  @IsString()
  EMBEDDED_DB_DIR = './.data';

  @Transform(toInt)
  @IsInt()
  @Min(1024)
  @Max(65535)
  EMBEDDED_DB_PORT = 54329;
}

export class ConfigValidationError extends Error {}

const SECRET_VARIABLES = new Set(['PORTAL_API_TOKEN', 'DATABASE_URL']);

/** Validates the environment once; the first bad variable stops start-up with one line. */
export function validateEnvironment(raw: Record<string, unknown>): EnvironmentVariables {
  const present = Object.fromEntries(
    Object.entries(raw).filter(([, v]) => v !== undefined && v !== ''),
  );
  const env = plainToInstance(EnvironmentVariables, present, { exposeDefaultValues: true });
  const errors = validateSync(env, { skipMissingProperties: false, whitelist: false });
  if (errors.length > 0) {
    const first = errors[0];
    const constraints = first.constraints ?? {};
    // A type error explains the value better than a range check on the same value.
    const why =
      constraints.isInt ?? Object.values(constraints)[0] ?? `${first.property} is invalid`;
    // Never echo a value that may be a secret.
    const shown = SECRET_VARIABLES.has(first.property)
      ? ''
      : ` (got ${JSON.stringify(first.value)})`;
    throw new ConfigValidationError(`Invalid configuration: ${why}${shown}`);
  }
  if (env.EXTENSION_MIN > env.EXTENSION_MAX) {
    throw new ConfigValidationError(
      `Invalid configuration: EXTENSION_MIN (${env.EXTENSION_MIN}) is above EXTENSION_MAX (${env.EXTENSION_MAX})`,
    );
  }
  return env;
}
