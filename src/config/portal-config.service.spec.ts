import * as fs from 'node:fs';
import * as path from 'node:path';
import { validateEnvironment } from './env.validation';
import { PortalConfig } from './portal-config.service';

describe('PortalConfig', () => {
  it('reads the validated object it is given, not process.env', () => {
    const before = { ...process.env };
    const config = new PortalConfig(
      validateEnvironment({ PORT: '4000', SIP_CONTEXT: 'ctx', SIP_QUALIFY_SECONDS: '0' }),
    );
    expect(config.port).toBe(4000);
    expect(config.generation).toEqual({ context: 'ctx', qualifySeconds: 0 });
    expect(config.databaseUrl).toBeUndefined();
    expect(config.apiToken).toBeUndefined();
    expect(process.env).toEqual(before);
  });

  it("takes the embedded database's URL and the kept token as values", () => {
    const env = validateEnvironment({});
    const config = new PortalConfig(env, {
      databaseUrl: 'postgres://postgres:postgres@127.0.0.1:54329/portal',
      apiToken: 'kept-token-0123456789',
    });
    expect(config.databaseUrl).toBe('postgres://postgres:postgres@127.0.0.1:54329/portal');
    expect(config.apiToken).toBe('kept-token-0123456789');
    // The validated object itself is left as validated.
    expect(env.DATABASE_URL).toBeUndefined();
    expect(new PortalConfig(env).apiToken).toBeUndefined();
  });

  it('config/ imports no feature module', () => {
    const imports = fs
      .readdirSync(__dirname)
      .filter((file) => file.endsWith('.ts'))
      .flatMap((file) =>
        [...fs.readFileSync(path.join(__dirname, file), 'utf8').matchAll(/from '(\.[^']*)'/g)].map(
          (m) => `${file}: ${m[1]}`,
        ),
      );
    expect(imports.filter((line) => !/: \.\/[^/]+$/.test(line))).toEqual([]);
  });
});
