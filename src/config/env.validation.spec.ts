import {
  ConfigValidationError,
  DEFAULT_RETRY_SCHEDULE,
  parseAllowedNetworks,
  parseRetrySchedule,
  parseTrustProxy,
  validateEnvironment,
} from './env.validation';

/** The lines of the refusal, or [] when the environment is accepted. */
function refusal(env: Record<string, string | undefined>): string[] {
  try {
    validateEnvironment(env);
    return [];
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigValidationError);
    expect((err as Error).message.split('\n')).toEqual(
      (err as ConfigValidationError).problems.map((p) => `Invalid configuration: ${p}`),
    );
    return (err as Error).message.split('\n');
  }
}

const TOKEN = 'a-token-of-24-characters';

describe('validateEnvironment', () => {
  it('accepts an empty environment with every default', () => {
    const env = validateEnvironment({});
    expect(env).toMatchObject({ PORT: 3000, LOG_LEVEL: 'info', EMBEDDED_DB_PORT: 54329 });
    expect(env.PORTAL_API_TOKEN).toBeUndefined();
    expect(env.TRUST_PROXY).toBeUndefined();
  });

  it('reports every bad variable at once, one line naming each', () => {
    const lines = refusal({
      PORT: 'abc',
      LOG_LEVEL: 'loud',
      ASTERISK_FILE_MODE: '999',
      EMBEDDED_DB_PORT: '80',
      PORTAL_API_TOKEN: '   ',
      EXTENSION_MIN: '2000',
      EXTENSION_MAX: '1000',
    });
    expect(lines).toHaveLength(6);
    for (const line of lines) expect(line).toMatch(/^Invalid configuration: \S/);
    const naming = (name: string) => lines.filter((line) => new RegExp(`\\b${name}\\b`).test(line));
    expect(naming('PORT')).toEqual([
      expect.stringContaining('PORT must be an integer number (got "abc")'),
    ]);
    expect(naming('LOG_LEVEL')).toEqual([expect.stringContaining('(got "loud")')]);
    expect(naming('ASTERISK_FILE_MODE')).toHaveLength(1);
    expect(naming('EMBEDDED_DB_PORT')).toEqual([expect.stringContaining('(got 80)')]);
    expect(naming('PORTAL_API_TOKEN')).toEqual([
      'Invalid configuration: PORTAL_API_TOKEN must not be blank (it is whitespace only)',
    ]);
    expect(naming('EXTENSION_MIN')).toEqual([
      'Invalid configuration: EXTENSION_MIN (2000) is above EXTENSION_MAX (1000)',
    ]);
  });

  it('takes SIP_QUALIFY_SECONDS from 0 (off) to 86400, 60 by default', () => {
    expect(validateEnvironment({}).SIP_QUALIFY_SECONDS).toBe(60);
    expect(validateEnvironment({ SIP_QUALIFY_SECONDS: '0' }).SIP_QUALIFY_SECONDS).toBe(0);
    expect(validateEnvironment({ SIP_QUALIFY_SECONDS: '86400' }).SIP_QUALIFY_SECONDS).toBe(86400);
    const why =
      'SIP_QUALIFY_SECONDS must be an integer from 0 to 86400 (seconds; 0 turns qualify off)';
    for (const [value, shown] of [
      ['-1', '-1'],
      ['86401', '86401'],
      ['1.5', '"1.5"'],
      ['60s', '"60s"'],
    ]) {
      expect(refusal({ SIP_QUALIFY_SECONDS: value })).toEqual([
        `Invalid configuration: ${why} (got ${shown})`,
      ]);
    }
  });

  it('checks the extension range only when both ends are valid numbers', () => {
    expect(refusal({ EXTENSION_MIN: 'x', EXTENSION_MAX: '1000' })).toEqual([
      expect.stringMatching(/^Invalid configuration: EXTENSION_MIN must be an integer number/),
    ]);
  });

  it.each([
    ['whitespace only', ' \t '.repeat(8), 'must not be blank (it is whitespace only)'],
    ['a leading space', ` ${TOKEN}`, 'must not begin or end with whitespace'],
    ['a trailing newline', `${TOKEN}\n`, 'must not begin or end with whitespace'],
    ['a control character', `${TOKEN}\u0007x`, 'must not contain control characters'],
    ['too few characters', 'too-short', 'must be at least 16 characters'],
  ])('refuses a PORTAL_API_TOKEN of %s, without echoing it', (_, token, why) => {
    const lines = refusal({ PORTAL_API_TOKEN: token });
    expect(lines).toEqual([`Invalid configuration: PORTAL_API_TOKEN ${why}`]);
  });

  it('treats an empty PORTAL_API_TOKEN as unset and accepts a token with inner spaces', () => {
    expect(validateEnvironment({ PORTAL_API_TOKEN: '' }).PORTAL_API_TOKEN).toBeUndefined();
    expect(validateEnvironment({ PORTAL_API_TOKEN: 'correct horse battery staple' })).toMatchObject(
      {
        PORTAL_API_TOKEN: 'correct horse battery staple',
      },
    );
  });

  it('requires PORTAL_API_TOKEN when DATABASE_URL is set, and never echoes DATABASE_URL', () => {
    const url = 'postgres://portal:s3cret@db.example:5432/portal';
    expect(refusal({ DATABASE_URL: url })).toEqual([
      expect.stringMatching(
        /^Invalid configuration: PORTAL_API_TOKEN must be set when DATABASE_URL is set/,
      ),
    ]);
    expect(validateEnvironment({ DATABASE_URL: url, PORTAL_API_TOKEN: TOKEN })).toMatchObject({
      DATABASE_URL: url,
    });
    const lines = refusal({ DATABASE_URL: 'mysql://root:s3cret@x' });
    expect(lines).toHaveLength(2);
    expect(lines.join('\n')).not.toContain('s3cret');
  });

  it('accepts TRUST_PROXY as false, a hop count, or addresses and subnets; refuses true', () => {
    for (const value of [
      'false',
      '1',
      'loopback',
      '10.0.0.5, 192.168.0.0/16',
      '::1,fd00::/8',
      'uniquelocal',
    ]) {
      expect({ value, lines: refusal({ TRUST_PROXY: value }) }).toEqual({ value, lines: [] });
    }
    for (const value of [
      'true',
      'yes',
      '10.0.0.300',
      '10.0.0.0/33',
      '10.0.0.1/8/2',
      'loopback,',
      '101',
    ]) {
      expect({ value, lines: refusal({ TRUST_PROXY: value }) }).toEqual({
        value,
        lines: [
          expect.stringMatching(
            /^Invalid configuration: TRUST_PROXY must be false, a hop count, or the proxies' addresses/,
          ),
        ],
      });
    }
    expect(refusal({ TRUST_PROXY: 'true' })[0]).toContain('true would trust every client');
  });
});

describe('parseTrustProxy', () => {
  it("gives Express's trust proxy value", () => {
    expect(parseTrustProxy(undefined)).toBe(false);
    expect(parseTrustProxy('false')).toBe(false);
    expect(parseTrustProxy('0')).toBe(false);
    expect(parseTrustProxy('2')).toBe(2);
    expect(parseTrustProxy(' loopback , 10.0.0.0/8 ')).toEqual(['loopback', '10.0.0.0/8']);
    expect(parseTrustProxy('true')).toBeUndefined();
  });
});

describe('the webhook settings', () => {
  it('WEBHOOK_ALLOWED_NETWORKS takes comma-separated CIDRs, unset by default', () => {
    expect(parseAllowedNetworks(undefined)).toEqual([]);
    expect(parseAllowedNetworks(' 10.20.0.0/16 , fd00::/8,127.0.0.1/32')).toEqual([
      '10.20.0.0/16',
      'fd00::/8',
      '127.0.0.1/32',
    ]);
    // Shorthand and octal forms read as other networks (`10/8` as 0.0.0.0/8, `010.0.0.0/8` as
    // 8.0.0.0/8), and host bits make the intent unclear: all refused.
    for (const bad of [
      '10.0.0.1',
      '10.0.0.0/33',
      'example.com/24',
      '10.0.0.0/8,,',
      '10/8',
      '010.0.0.0/8',
      '10.0.0.1/8',
      'fd00::1/8',
    ]) {
      expect({ bad, parsed: parseAllowedNetworks(bad) }).toEqual({ bad, parsed: undefined });
    }
    expect(() => validateEnvironment({ WEBHOOK_ALLOWED_NETWORKS: '10.0.0.1' })).toThrow(
      'WEBHOOK_ALLOWED_NETWORKS must be comma-separated CIDRs',
    );
  });

  it('WEBHOOK_RETRY_SCHEDULE takes delays in seconds; about 28 hours by default', () => {
    expect(parseRetrySchedule(undefined)).toEqual(DEFAULT_RETRY_SCHEDULE);
    expect(parseRetrySchedule('0.2, 1,60')).toEqual([0.2, 1, 60]);
    for (const bad of ['-1', 'five', '1,,2', '604801']) {
      expect({ bad, parsed: parseRetrySchedule(bad) }).toEqual({ bad, parsed: undefined });
    }
    const config = validateEnvironment({ WEBHOOK_RETRY_SCHEDULE: '1,2' });
    expect(config.WEBHOOK_RETRY_SCHEDULE).toBe('1,2');
    expect(validateEnvironment({}).WEBHOOK_RETENTION_DAYS).toBe(30);
    expect(() => validateEnvironment({ WEBHOOK_RETENTION_DAYS: '0' })).toThrow(
      'WEBHOOK_RETENTION_DAYS',
    );
    expect(() => validateEnvironment({ PHONE_EVENTS_POLL_SECONDS: '0' })).toThrow(
      'PHONE_EVENTS_POLL_SECONDS',
    );
  });
});
