import { CliProcessRunner } from './cli-process-runner';

const OPTS = { timeoutMs: 5_000, maxBuffer: 64 * 1024 * 1024 };

describe('CliProcessRunner', () => {
  const runner = new CliProcessRunner();

  it('returns stdout, stderr and the exit code, arguments passed without a shell', async () => {
    const out = await runner.run(
      '/bin/sh',
      ['-c', 'printf "%s|" "$1"; echo oops >&2; exit 3', 'sh', `a b "c" $HOME; rm -rf x`],
      OPTS,
    );
    expect(out).toEqual({
      stdout: `a b "c" $HOME; rm -rf x|`,
      stderr: 'oops\n',
      exitCode: 3,
      errno: null,
      killed: false,
      signal: null,
    });
  });

  it('reports a program that cannot be run by its error code', async () => {
    const out = await runner.run('/nonexistent/asterisk', ['-rx', 'core show version'], OPTS);
    expect(out.errno).toBe('ENOENT');
    expect(out.exitCode).toBeNull();
  });

  it('kills a program that outlives its timeout and says so', async () => {
    const out = await runner.run('/bin/sleep', ['30'], { ...OPTS, timeoutMs: 200 });
    expect(out.killed).toBe(true);
    expect(out.signal).toBe('SIGKILL');
  });

  it('answers concurrent calls each with its own result', async () => {
    const outs = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        runner.run('/bin/sh', ['-c', `sleep 0.0${8 - i}; echo ${i}`], OPTS),
      ),
    );
    expect(outs.map((o) => o.stdout.trim())).toEqual(['0', '1', '2', '3', '4', '5', '6', '7']);
  });

  it('carries large output intact and reports one over maxBuffer', async () => {
    const big = await runner.run('/bin/sh', ['-c', 'head -c 3000000 /dev/zero | tr "\\0" x'], OPTS);
    expect(big.stdout).toBe('x'.repeat(3_000_000));
    const over = await runner.run('/bin/sh', ['-c', 'head -c 3000 /dev/zero'], {
      ...OPTS,
      maxBuffer: 1000,
    });
    expect(over.errno).toBe('ERR_CHILD_PROCESS_STDIO_MAXBUFFER');
  });
});
