import { Injectable } from '@nestjs/common';
import { ThrottlerStorageService } from '@nestjs/throttler';
import { PortalConfig } from '../../config/portal-config.service';

/**
 * Counts failed authentications per client address. Past the limit within the window the
 * address is blocked for one window, for every request: a correct guess gains nothing.
 */
@Injectable()
export class AuthFailureLimiter {
  constructor(
    private readonly storage: ThrottlerStorageService,
    private readonly config: PortalConfig,
  ) {}

  private key(ip: string): string {
    return `auth-failure:${ip}`;
  }

  /** Seconds until the address may try again, or 0 when it is not blocked. */
  blockedFor(ip: string): number {
    const record = this.storage.storage.get(this.key(ip));
    if (!record?.isBlocked) return 0;
    return Math.max(0, Math.ceil((record.blockExpiresAt - Date.now()) / 1000));
  }

  /** Records a failure; returns seconds blocked when this failure crossed the limit. */
  async fail(ip: string): Promise<number> {
    const { limit, windowMs } = this.config.authFailureLimit;
    const record = await this.storage.increment(this.key(ip), windowMs, limit, windowMs, 'auth');
    return record.isBlocked ? Math.max(1, record.timeToBlockExpire) : 0;
  }
}
