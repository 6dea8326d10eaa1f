import { DEFAULT_RETRY_SCHEDULE } from '../config/env.validation';
import { verdict } from './retry-schedule';

describe('webhook retry verdicts', () => {
  const now = new Date('2026-01-01T00:00:00Z');

  it('retries after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, then fails', () => {
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 8; attempt++) {
      const v = verdict(attempt, 500, DEFAULT_RETRY_SCHEDULE, now);
      if (v.outcome === 'retrying') delays.push((v.nextAttemptAt.getTime() - now.getTime()) / 1000);
      else expect({ attempt, outcome: v.outcome }).toEqual({ attempt: 8, outcome: 'failed' });
    }
    expect(delays).toEqual([5, 300, 1800, 7200, 18000, 36000, 36000]);
    expect(delays.reduce((a, b) => a + b, 0) / 3600).toBeCloseTo(27.58, 1);
  });

  it('a 2xx is delivered, 410 is gone, a 3xx or no answer is retried', () => {
    expect(verdict(1, 204, [1], now).outcome).toBe('delivered');
    expect(verdict(1, 410, [1], now).outcome).toBe('gone');
    expect(verdict(1, 302, [1], now).outcome).toBe('retrying');
    expect(verdict(1, null, [1], now).outcome).toBe('retrying');
    expect(verdict(2, null, [1], now).outcome).toBe('failed');
  });
});
