import { Injectable } from '@nestjs/common';
import { PortalConfig } from '../config/portal-config.service';

interface FailureCount {
  /** Failures since `windowStart`. */
  failures: number;
  /** The address's first failure in this window (ms); the window lasts `windowMs` from it. */
  windowStart: number;
  /** Until when the address is blocked (ms); 0 when it is not. */
  blockedUntil: number;
}

/**
 * Counts failed authentications per client address, in a window that starts at the first
 * failure. Past the limit within the window the address is blocked for one window, for every
 * request: a correct guess gains nothing. The count starts over when the window or the block
 * ends. In memory, per process; idle addresses are forgotten.
 */
@Injectable()
export class AuthFailureLimiter {
  private readonly counts = new Map<string, FailureCount>();
  private nextSweep = 0;

  constructor(private readonly config: PortalConfig) {}

  /** Seconds until the address may try again, or 0 when it is not blocked. */
  blockedFor(ip: string): number {
    return secondsUntil(this.counts.get(ip)?.blockedUntil ?? 0, Date.now());
  }

  /** Records a failure; returns seconds blocked when this failure crossed the limit. */
  fail(ip: string): number {
    const { limit, windowMs } = this.config.authFailureLimit;
    const now = Date.now();
    this.sweep(now, windowMs);
    let count = this.counts.get(ip);
    // A request that passed blockedFor() just before another one's failure began the block.
    if (count && count.blockedUntil > now) return secondsUntil(count.blockedUntil, now);
    if (!count || now - count.windowStart >= windowMs) {
      count = { failures: 0, windowStart: now, blockedUntil: 0 };
      this.counts.set(ip, count);
    }
    count.failures += 1;
    if (count.failures <= limit) return 0;
    // Blocked for one window; afterwards the count starts over.
    Object.assign(count, { failures: 0, windowStart: now, blockedUntil: now + windowMs });
    return secondsUntil(count.blockedUntil, now);
  }

  /** Drops addresses whose window and block have ended, at most once a window. */
  private sweep(now: number, windowMs: number): void {
    if (now < this.nextSweep) return;
    this.nextSweep = now + windowMs;
    for (const [ip, count] of this.counts) {
      if (count.blockedUntil <= now && now - count.windowStart >= windowMs) this.counts.delete(ip);
    }
  }
}

function secondsUntil(time: number, now: number): number {
  return time > now ? Math.ceil((time - now) / 1000) : 0;
}
