import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AsteriskNodeConfig } from './asterisk-nodes';
import { ConfigValidationError, validateEnvironment } from './env.validation';
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

  describe('nodes', () => {
    const node: AsteriskNodeConfig = {
      name: 'pbx-a',
      transport: 'local',
      pjsipDir: '/p',
      dialplanDir: '/d',
      cli: ['asterisk', '-C', '/etc/a.conf'],
      fileMode: 0o640,
      fileGroup: undefined,
    };

    it('is the default local node when none are given, next to the unchanged asterisk settings', () => {
      const config = new PortalConfig(
        validateEnvironment({ ASTERISK_CLI: '/usr/sbin/asterisk', ASTERISK_PJSIP_DIR: '/srv/p' }),
      );
      expect(config.nodes).toEqual([
        {
          name: 'local',
          transport: 'local',
          pjsipDir: '/srv/p',
          dialplanDir: '/etc/asterisk/extensions.d/synergycall',
          cli: ['/usr/sbin/asterisk'],
          fileMode: 0o640,
          fileGroup: undefined,
        },
      ]);
      expect(config.asterisk).toMatchObject({ pjsipDir: '/srv/p', cli: '/usr/sbin/asterisk' });
    });

    it('is the list start-up validated, as a copy nobody can change', () => {
      const given = [node];
      const config = new PortalConfig(validateEnvironment({}), { nodes: given });
      expect(config.nodes).toEqual([node]);
      given[0].cli.push('-v');
      expect(config.nodes[0].cli).toEqual(['asterisk', '-C', '/etc/a.conf']);
      expect(Object.isFrozen(config.nodes)).toBe(true);
      expect(Object.isFrozen(config.nodes[0])).toBe(true);
      expect(Object.isFrozen(config.nodes[0].cli)).toBe(true);
    });

    it('reads ASTERISK_NODES_FILE itself when no nodes are given, refusing it as start-up does', () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portal-config-'));
      try {
        const file = path.join(dir, 'nodes.json');
        fs.writeFileSync(file, JSON.stringify([{ ...node, fileMode: '0600' }]));
        const env = validateEnvironment({ ASTERISK_NODES_FILE: file });
        expect(new PortalConfig(env).nodes).toEqual([{ ...node, fileMode: 0o600 }]);
        fs.writeFileSync(file, '[]');
        expect(() => new PortalConfig(env)).toThrow(ConfigValidationError);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
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
