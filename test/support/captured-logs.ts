import { __resetOutOfContextForTests } from 'nestjs-pino/PinoLogger';

/**
 * Every line the portal logs from now on, until `restore()`. Replacing write makes pino log
 * through process.stdout (it writes to fd 1 directly only while stdout is untouched).
 * nestjs-pino keeps one process-wide logger for lines outside a request (start-up, shutdown),
 * made by the first app that boots: it is reset, so the next app's is the one seen.
 */
export function captureLogs(): { written: string[]; restore: () => void } {
  const written: string[] = [];
  const spy = jest
    .spyOn(process.stdout, 'write')
    .mockImplementation((chunk: string | Uint8Array): boolean => {
      written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    });
  __resetOutOfContextForTests();
  return { written, restore: () => spy.mockRestore() };
}
