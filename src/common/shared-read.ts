/**
 * A read that its callers share: one at a time is in flight, and its answer is reused while it
 * is young enough, so polling costs the source a bounded number of reads whatever the number
 * of callers. The read must not throw: a failure is an answer like any other, reused as long.
 */
export class SharedRead<T> {
  private last: { at: number; value: T } | null = null;
  private inflight: Promise<T> | null = null;

  /**
   * `ageFrom`: whether an answer's age counts from when its read began, or from when it came
   * (so that a slow read is not started again at once).
   */
  constructor(
    private readonly read: () => Promise<T>,
    private readonly ageFrom: 'start' | 'answer',
  ) {}

  /** The last answer if at most `maxAgeMs` old, else the read in flight or a new one. */
  get(maxAgeMs: number): Promise<T> {
    if (this.last && performance.now() - this.last.at <= maxAgeMs) {
      return Promise.resolve(this.last.value);
    }
    if (!this.inflight) {
      const started = performance.now();
      this.inflight = this.read()
        .then((value) => {
          this.last = { at: this.ageFrom === 'start' ? started : performance.now(), value };
          return value;
        })
        .finally(() => {
          this.inflight = null;
        });
    }
    return this.inflight;
  }
}
