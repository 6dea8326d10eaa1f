import { generateSipPassword, SIP_PASSWORD_LENGTH, sipDigests } from './sip-credentials';

describe('generateSipPassword', () => {
  it('gives 24 base62 characters, different every time', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const p = generateSipPassword();
      expect(p).toMatch(/^[A-Za-z0-9]{24}$/);
      seen.add(p);
    }
    expect(seen.size).toBe(1000);
    expect(SIP_PASSWORD_LENGTH * Math.log2(62)).toBeGreaterThanOrEqual(128);
  });

  it('uses the whole alphabet (no bias towards a subset)', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 2000; i++) {
      for (const c of generateSipPassword()) counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    expect(counts.size).toBe(62);
  });
});

describe('sipDigests', () => {
  it('hashes "username:realm:password" in lowercase hex', () => {
    const d = sipDigests('1000', 'asterisk', 'secret');
    // Values computed independently (Python hashlib).
    expect(d.md5Digest).toBe('4e2bd218061da1563c0e0f1e2276b5b5');
    expect(d.sha256Digest).toBe('abbf1da1a0cc9827f7108aebcc75ba683c9721cbfd67f68b7a2abb4bd2c87ee0');
  });

  it('depends on username and realm', () => {
    const base = sipDigests('1000', 'asterisk', 'pw');
    expect(sipDigests('1001', 'asterisk', 'pw').md5Digest).not.toBe(base.md5Digest);
    expect(sipDigests('1000', 'other', 'pw').sha256Digest).not.toBe(base.sha256Digest);
  });
});
