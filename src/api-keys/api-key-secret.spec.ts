import { createHash } from 'node:crypto';
import { generateApiKey, hashApiKey, KEY_PATTERN } from './api-key-secret';

describe('API key secrets', () => {
  it('are scp_ and 43 base64url characters (32 bytes), with the 8 after scp_ as prefix', () => {
    const { key, prefix, hash } = generateApiKey();
    expect(key).toMatch(KEY_PATTERN);
    expect(Buffer.from(key.slice(4), 'base64url')).toHaveLength(32);
    expect(prefix).toBe(key.slice(4, 12));
    expect(hash).toBe(createHash('sha256').update(key).digest('hex'));
    expect(hashApiKey(key)).toBe(hash);
  });

  it('differ every time', () => {
    const keys = new Set(Array.from({ length: 1000 }, () => generateApiKey().key));
    expect(keys.size).toBe(1000);
  });
});
