import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { EnvironmentVariables } from '../../config/env.validation';

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * Holds the API token. When PORTAL_API_TOKEN is unset a random one is made at start-up and
 * printed once, so a first run needs no set-up.
 */
@Injectable()
export class ApiToken {
  private readonly expected: Buffer;

  constructor(config: ConfigService<EnvironmentVariables, true>) {
    let token = config.get('PORTAL_API_TOKEN', { infer: true });
    if (!token) {
      token = randomBytes(24).toString('base64url');
      new Logger('ApiToken').warn(
        `PORTAL_API_TOKEN is not set; this run accepts the generated token: ${token}`,
      );
    }
    this.expected = digest(token);
  }

  /** Constant time: both sides are hashed to equal length before comparing. */
  matches(candidate: string): boolean {
    return timingSafeEqual(digest(candidate), this.expected);
  }
}
