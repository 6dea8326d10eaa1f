import { Injectable } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import { PortalConfig } from '../config/portal-config.service';

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * Holds the API token. It is always set by the time the app is built: start-up refuses
 * DATABASE_URL without PORTAL_API_TOKEN, and on the embedded database it reads or generates
 * the token kept in EMBEDDED_DB_DIR (src/config/api-token-file.ts).
 */
@Injectable()
export class ApiToken {
  private readonly expected: Buffer;

  constructor(config: PortalConfig) {
    const token = config.apiToken;
    if (!token) throw new Error('PORTAL_API_TOKEN is not set (start-up should have set it)');
    this.expected = digest(token);
  }

  /** Constant time: both sides are hashed to equal length before comparing. */
  matches(candidate: string): boolean {
    return timingSafeEqual(digest(candidate), this.expected);
  }
}
