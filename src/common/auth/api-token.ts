import { Injectable, Logger } from '@nestjs/common';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { PortalConfig } from '../../config/portal-config.service';

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * Holds the API token. When PORTAL_API_TOKEN is unset a random one is made at start-up and
 * printed once, so a first run needs no set-up.
 */
@Injectable()
export class ApiToken {
  private readonly expected: Buffer;

  constructor(config: PortalConfig) {
    let token = config.apiToken;
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
