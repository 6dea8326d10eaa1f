import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { API_TOKEN_FILE, keptApiToken } from './api-token-file';
import { StartupError } from './startup-error';

describe('keptApiToken', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portal-token-'));
    file = path.join(dir, API_TOKEN_FILE);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const mode = (p: string): number => fs.statSync(p).mode & 0o777;
  const refusal = (): string => {
    try {
      keptApiToken(dir);
    } catch (err) {
      expect(err).toBeInstanceOf(StartupError);
      return (err as Error).message;
    }
    throw new Error('keptApiToken did not refuse');
  };

  it('generates a token into api-token (0600, even under a lax umask) and reuses it', () => {
    const umask = process.umask(0o000);
    let first;
    try {
      first = keptApiToken(dir);
    } finally {
      process.umask(umask);
    }
    expect(first).toEqual({
      token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      file,
      created: true,
      tightened: false,
    });
    expect(mode(file)).toBe(0o600);
    expect(fs.readFileSync(file, 'utf8')).toBe(`${first.token}\n`);
    // Nothing else is left in the directory (no temp file).
    expect(fs.readdirSync(dir)).toEqual([API_TOKEN_FILE]);

    const second = keptApiToken(dir);
    expect(second).toEqual({ token: first.token, file, created: false, tightened: false });
    expect(keptApiToken(path.relative(process.cwd(), dir)).file).toBe(file);
  });

  it('keeps a token an admin wrote, and makes a file others can read 0600', () => {
    fs.writeFileSync(file, 'my-own-token-0123456789', { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    expect(keptApiToken(dir)).toMatchObject({
      token: 'my-own-token-0123456789',
      created: false,
      tightened: true,
    });
    expect(mode(file)).toBe(0o600);
  });

  it.each([
    ['empty', '', 'must not be blank'],
    ['whitespace only', '   \n', 'must not be blank'],
    ['too short', 'short\n', 'must be at least 16 characters'],
    ['two lines', 'first-line-0123456789\nsecond\n', 'must not contain control characters'],
  ])(
    'refuses a file that is %s, in one line naming the file and PORTAL_API_TOKEN',
    (_, content, why) => {
      fs.writeFileSync(file, content, { mode: 0o600 });
      const message = refusal();
      expect(message).toContain(file);
      expect(message).toContain(why);
      expect(message).toContain('PORTAL_API_TOKEN');
      expect(message).not.toContain('\n');
    },
  );

  it('never follows a symlink or reads what is not a regular file', () => {
    const secret = path.join(dir, 'elsewhere');
    fs.writeFileSync(secret, 'a-secret-of-another-user-0123', { mode: 0o600 });
    fs.symlinkSync(secret, file);
    expect(refusal()).toMatch(/symbolic link/);
    expect(refusal()).not.toContain('a-secret');
    fs.rmSync(file);
    fs.mkdirSync(file);
    expect(refusal()).toMatch(/not a regular file/);
  });

  const asRoot = process.getuid?.() === 0 ? it : it.skip;
  asRoot('refuses a file of another user (the database user owns the directory)', () => {
    fs.writeFileSync(file, 'planted-token-0123456789', { mode: 0o600 });
    fs.chownSync(file, 65534, 65534);
    expect(refusal()).toMatch(/belongs to uid 65534/);
  });

  it('says in one line when the token cannot be written', () => {
    const readOnly = path.join(dir, 'missing', 'dir');
    try {
      keptApiToken(readOnly);
      throw new Error('keptApiToken did not refuse');
    } catch (err) {
      expect(err).toBeInstanceOf(StartupError);
      expect((err as Error).message).toMatch(
        /could not be kept in .*api-token .*; set PORTAL_API_TOKEN$/,
      );
    }
  });
});
