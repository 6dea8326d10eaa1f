import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigValidationError } from './env.validation';
import { validateConfiguration } from './startup-validation';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'startup-validation-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The lines main.ts prints for a refused configuration. */
function refusal(raw: Record<string, string>): string[] {
  try {
    validateConfiguration(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigValidationError);
    return (err as Error).message.split('\n');
  }
  throw new Error('accepted');
}

describe('validateConfiguration', () => {
  it('is the environment and the default local node when there is no nodes file', () => {
    const { env, nodes } = validateConfiguration({ PORT: '4000', ASTERISK_CLI: '/bin/true' });
    expect(env.PORT).toBe(4000);
    expect(nodes).toEqual([expect.objectContaining({ name: 'local', cli: ['/bin/true'] })]);
  });

  it('reports the bad variables and the nodes file problems together, variables first', () => {
    const key = path.join(dir, 'id_ed25519');
    fs.writeFileSync(key, 'PRIVATE');
    fs.chmodSync(key, 0o644);
    const file = path.join(dir, 'nodes.json');
    const node = { transport: 'local', pjsipDir: '/p', dialplanDir: '/d', cli: ['asterisk'] };
    fs.writeFileSync(
      file,
      JSON.stringify([
        { ...node, name: 'a', port: 22 },
        {
          ...node,
          name: 'b',
          transport: 'ssh',
          host: 'b.example.net',
          username: 'portal',
          privateKeyFile: key,
          hostKey: 'SHA256:+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU',
        },
      ]),
    );
    expect(refusal({ PORT: 'abc', LOG_LEVEL: 'loud', ASTERISK_NODES_FILE: file })).toEqual([
      'Invalid configuration: PORT must be an integer number (got "abc")',
      expect.stringMatching(/^Invalid configuration: LOG_LEVEL must be one of /),
      'Invalid configuration: ASTERISK_NODES_FILE node a: port is only for transport "ssh"; this node\'s transport is "local"',
      `Invalid configuration: ASTERISK_NODES_FILE node b: privateKeyFile ${key} is readable by group or others (mode 0644); chmod 600 it`,
    ]);
  });

  it('reports a missing nodes file as one line', () => {
    const file = path.join(dir, 'nodes.json');
    expect(refusal({ ASTERISK_NODES_FILE: file })).toEqual([
      `Invalid configuration: ASTERISK_NODES_FILE ${file} does not exist`,
    ]);
  });
});
