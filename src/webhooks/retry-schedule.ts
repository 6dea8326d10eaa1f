import type { DeliveryStatus } from './entities/webhook-delivery.entity';

export type AttemptVerdict =
  | { outcome: 'delivered'; status: DeliveryStatus; nextAttemptAt: null }
  | { outcome: 'gone'; status: DeliveryStatus; nextAttemptAt: null }
  | { outcome: 'retrying'; status: DeliveryStatus; nextAttemptAt: Date }
  | { outcome: 'failed'; status: DeliveryStatus; nextAttemptAt: null };

/**
 * What an attempt's answer means: a 2xx is delivered, 410 Gone ends the delivery (and the
 * caller disables the subscription), anything else (3xx included: redirects are not followed),
 * a timeout or a connection error is retried after the schedule's next delay, and after the
 * last one the delivery has failed.
 */
export function verdict(
  attempt: number,
  httpStatus: number | null,
  schedule: readonly number[],
  now: Date,
): AttemptVerdict {
  if (httpStatus !== null && httpStatus >= 200 && httpStatus < 300) {
    return { outcome: 'delivered', status: 'delivered', nextAttemptAt: null };
  }
  if (httpStatus === 410) return { outcome: 'gone', status: 'failed', nextAttemptAt: null };
  const delay = schedule[attempt - 1];
  if (delay === undefined) return { outcome: 'failed', status: 'failed', nextAttemptAt: null };
  return {
    outcome: 'retrying',
    status: 'pending',
    nextAttemptAt: new Date(now.getTime() + delay * 1000),
  };
}
