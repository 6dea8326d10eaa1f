import { setTimeout as sleep } from 'node:timers/promises';
import { SharedRead } from './shared-read';

describe('SharedRead', () => {
  /** A read that takes 60 ms and answers with its own number. */
  const counted = () => {
    let reads = 0;
    return {
      reads: () => reads,
      read: async (): Promise<number> => {
        reads += 1;
        const n = reads;
        await sleep(60);
        return n;
      },
    };
  };

  it('callers at once share one read', async () => {
    const source = counted();
    const shared = new SharedRead(source.read, 'start');
    expect(await Promise.all([shared.get(0), shared.get(0), shared.get(0)])).toEqual([1, 1, 1]);
    expect(source.reads()).toBe(1);
  });

  it('an answer young enough is reused; an older one is read again', async () => {
    const source = counted();
    const shared = new SharedRead(source.read, 'answer');
    expect(await shared.get(1_000)).toBe(1);
    expect(await shared.get(1_000)).toBe(1);
    expect(await shared.get(0)).toBe(2);
  });

  it("the age counts from the read's start or from its answer, as asked", async () => {
    const fromStart = counted();
    const fromAnswer = counted();
    const a = new SharedRead(fromStart.read, 'start');
    const b = new SharedRead(fromAnswer.read, 'answer');
    await Promise.all([a.get(40), b.get(40)]);
    // Just answered, 60 ms after the read began: too old counted from the start only.
    expect(await Promise.all([a.get(40), b.get(40)])).toEqual([2, 1]);
  });
});
