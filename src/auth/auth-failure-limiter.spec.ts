import { PortalConfig } from '../config/portal-config.service';
import { AuthFailureLimiter } from './auth-failure-limiter';

describe('AuthFailureLimiter', () => {
  const limiterFor = (limit: number, windowSeconds: number) =>
    new AuthFailureLimiter({
      authFailureLimit: { limit, windowMs: windowSeconds * 1000 },
    } as PortalConfig);

  beforeEach(() => jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') }));
  afterEach(() => jest.useRealTimers());

  it('allows the limit, blocks the failure past it for one window, and counts per address', () => {
    const limiter = limiterFor(3, 60);
    for (let i = 0; i < 3; i++) expect(limiter.fail('a')).toBe(0);
    expect(limiter.blockedFor('a')).toBe(0);
    expect(limiter.fail('a')).toBe(60);
    expect(limiter.blockedFor('a')).toBe(60);
    expect(limiter.blockedFor('b')).toBe(0);
    expect(limiter.fail('b')).toBe(0);

    jest.advanceTimersByTime(59_001);
    expect(limiter.blockedFor('a')).toBe(1);
    // A failure that raced the block does not extend it.
    expect(limiter.fail('a')).toBe(1);
    jest.advanceTimersByTime(999);
    expect(limiter.blockedFor('a')).toBe(0);
  });

  it('starts the count over when the block ends', () => {
    const limiter = limiterFor(2, 1);
    limiter.fail('a');
    limiter.fail('a');
    expect(limiter.fail('a')).toBe(1);
    jest.advanceTimersByTime(1000);
    expect(limiter.blockedFor('a')).toBe(0);
    expect(limiter.fail('a')).toBe(0);
    expect(limiter.fail('a')).toBe(0);
    expect(limiter.fail('a')).toBe(1);
  });

  it('forgets failures once their window has passed', () => {
    const limiter = limiterFor(2, 10);
    limiter.fail('a');
    limiter.fail('a');
    jest.advanceTimersByTime(10_000);
    expect(limiter.fail('a')).toBe(0);
    expect(limiter.fail('a')).toBe(0);
    expect(limiter.fail('a')).toBe(10);
  });

  it('drops idle addresses, so memory follows the addresses failing now', () => {
    const limiter = limiterFor(1, 10);
    for (let i = 0; i < 1000; i++) limiter.fail(`10.0.${i >> 8}.${i & 255}`);
    limiter.fail('blocked');
    limiter.fail('blocked');
    expect(limiter['counts'].size).toBe(1001);
    jest.advanceTimersByTime(10_000);
    limiter.fail('new');
    expect(limiter['counts'].size).toBe(1);
    expect(limiter.blockedFor('blocked')).toBe(0);
  });
});
