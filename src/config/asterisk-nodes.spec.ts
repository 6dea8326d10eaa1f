import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type AsteriskNodeConfig, loadAsteriskNodes } from './asterisk-nodes';
import { validateEnvironment } from './env.validation';

// GitHub's ed25519 host key fingerprint: a real value in the format `ssh-keygen -lf` prints.
const HOST_KEY = 'SHA256:+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU';
// What a private key file holds; no message may ever show any of it.
const KEY_TEXT = 'KEYMATERIAL-7f3a9c-never-to-be-printed';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'asterisk-nodes-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A private key file in the temp dir with the given mode. */
function keyFile(name: string, mode = 0o600): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `-----BEGIN OPENSSH PRIVATE KEY-----\n${KEY_TEXT}\n`);
  fs.chmodSync(file, mode);
  return file;
}

/** The nodes file holding `content` (JSON-encoded unless already text). */
function nodesFile(content: unknown): string {
  const file = path.join(dir, 'nodes.json');
  fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

function load(content: unknown, vars: Record<string, string> = {}) {
  return loadAsteriskNodes(
    validateEnvironment({ ...vars, ASTERISK_NODES_FILE: nodesFile(content) }),
  );
}

/** The nodes of a file that must be accepted. */
function accepted(content: unknown, vars: Record<string, string> = {}): AsteriskNodeConfig[] {
  const result = load(content, vars);
  if ('problems' in result) throw new Error(result.problems.join('\n'));
  return result.nodes;
}

/** The problems of a file that must be refused; none may show the key. */
function problems(content: unknown, vars: Record<string, string> = {}): string[] {
  const result = load(content, vars);
  if ('nodes' in result) throw new Error(`accepted: ${JSON.stringify(result.nodes)}`);
  for (const line of result.problems) {
    expect(line).not.toContain(KEY_TEXT);
    expect(line).not.toContain('BEGIN OPENSSH');
    expect(line).not.toMatch(/[\r\n]/);
  }
  return result.problems;
}

const local = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  name: 'pbx-a',
  transport: 'local',
  pjsipDir: '/etc/asterisk/pjsip.d/synergycall',
  dialplanDir: '/etc/asterisk/extensions.d/synergycall',
  cli: ['asterisk'],
  ...over,
});

const ssh = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  name: 'pbx-b',
  transport: 'ssh',
  pjsipDir: '/etc/asterisk/pjsip.d/synergycall',
  dialplanDir: '/etc/asterisk/extensions.d/synergycall',
  cli: ['sudo', '-n', 'asterisk'],
  host: 'pbx-b.example.net',
  username: 'portal',
  privateKeyFile: keyFile('id_pbx_b'),
  hostKey: HOST_KEY,
  ...over,
});

function without(node: Record<string, unknown>, ...fields: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(node).filter(([key]) => !fields.includes(key)));
}

describe('loadAsteriskNodes without ASTERISK_NODES_FILE', () => {
  it('is the one node `local`, built from the ASTERISK_* variables', () => {
    expect(loadAsteriskNodes(validateEnvironment({}))).toEqual({
      nodes: [
        {
          name: 'local',
          transport: 'local',
          pjsipDir: '/etc/asterisk/pjsip.d/synergycall',
          dialplanDir: '/etc/asterisk/extensions.d/synergycall',
          cli: ['asterisk'],
          fileMode: 0o640,
          fileGroup: undefined,
        },
      ],
    });
    const env = validateEnvironment({
      ASTERISK_CLI: '/opt/asterisk/sbin/asterisk',
      ASTERISK_PJSIP_DIR: '/srv/pjsip',
      ASTERISK_DIALPLAN_DIR: '/srv/dialplan',
      ASTERISK_FILE_MODE: '0600',
      ASTERISK_FILE_GROUP: 'asterisk',
    });
    expect(loadAsteriskNodes(env)).toEqual({
      nodes: [
        {
          name: 'local',
          transport: 'local',
          pjsipDir: '/srv/pjsip',
          dialplanDir: '/srv/dialplan',
          // A single program path, never split on spaces.
          cli: ['/opt/asterisk/sbin/asterisk'],
          fileMode: 0o600,
          fileGroup: 'asterisk',
        },
      ],
    });
  });
});

describe('loadAsteriskNodes with ASTERISK_NODES_FILE', () => {
  it('reads a local and an ssh node, with port 22 and the file mode and group of the environment by default', () => {
    const key = keyFile('id_ed25519');
    const nodes = accepted([local(), ssh({ privateKeyFile: key })], {
      ASTERISK_FILE_MODE: '0660',
      ASTERISK_FILE_GROUP: 'asterisk',
    });
    expect(nodes).toEqual([
      {
        name: 'pbx-a',
        transport: 'local',
        pjsipDir: '/etc/asterisk/pjsip.d/synergycall',
        dialplanDir: '/etc/asterisk/extensions.d/synergycall',
        cli: ['asterisk'],
        fileMode: 0o660,
        fileGroup: 'asterisk',
      },
      {
        name: 'pbx-b',
        transport: 'ssh',
        pjsipDir: '/etc/asterisk/pjsip.d/synergycall',
        dialplanDir: '/etc/asterisk/extensions.d/synergycall',
        cli: ['sudo', '-n', 'asterisk'],
        fileMode: 0o660,
        fileGroup: 'asterisk',
        ssh: {
          host: 'pbx-b.example.net',
          port: 22,
          username: 'portal',
          privateKeyFile: key,
          hostKey: HOST_KEY,
        },
      },
    ]);
    // "Present exactly when transport is 'ssh'": not even as an undefined key.
    expect('ssh' in nodes[0]).toBe(false);
  });

  it("takes each node's own fileMode, fileGroup, port and a cli with arguments", () => {
    const [a, b] = accepted([
      local({
        cli: ['asterisk', '-C', '/etc/asterisk-b/asterisk.conf'],
        fileMode: '640',
        fileGroup: '115',
      }),
      ssh({ port: 2222, fileMode: '0600', fileGroup: 'pbx', host: '2001:db8::5' }),
    ]);
    expect(a).toMatchObject({
      cli: ['asterisk', '-C', '/etc/asterisk-b/asterisk.conf'],
      fileMode: 0o640,
      fileGroup: '115',
    });
    expect(b).toMatchObject({ fileMode: 0o600, fileGroup: 'pbx' });
    expect(b.ssh).toMatchObject({ host: '2001:db8::5', port: 2222 });
  });

  it('reports every problem at once, one line each naming the node and the field', () => {
    expect(
      problems([
        local({ pjsipDir: 'relative/dir', cli: [] }),
        ssh({ port: 0, hostKey: 'MD5:aa:bb' }),
        { transport: 'ftp', pjsipDir: '/a', dialplanDir: '/b', cli: ['asterisk'] },
      ]),
    ).toEqual([
      'ASTERISK_NODES_FILE node pbx-a: pjsipDir must be an absolute path (got "relative/dir")',
      'ASTERISK_NODES_FILE node pbx-a: cli must be the command as a non-empty array of non-empty strings, e.g. ["asterisk"] (got [])',
      'ASTERISK_NODES_FILE node pbx-b: port must be an integer from 1 to 65535 (got 0)',
      'ASTERISK_NODES_FILE node pbx-b: hostKey must be the server\'s key fingerprint as `ssh-keygen -lf` prints it: SHA256: and 43 base64 characters (got "MD5:aa:bb")',
      'ASTERISK_NODES_FILE nodes[2]: name is missing',
      'ASTERISK_NODES_FILE nodes[2]: transport must be "local" or "ssh" (got "ftp")',
    ]);
  });

  describe('name', () => {
    it('is 1 to 32 lowercase letters, digits or dashes; a node without a valid one is named by index', () => {
      expect(
        accepted([local({ name: 'a' }), local({ name: '0-pbx-' + 'x'.repeat(26) })]),
      ).toHaveLength(2);
      for (const name of ['', 'PBX', 'pbx_a', 'pbx a', 'x'.repeat(33), 7, null]) {
        expect(problems([local(), local({ name, pjsipDir: 'x' })])).toEqual([
          `ASTERISK_NODES_FILE nodes[1]: name must be 1 to 32 lowercase letters, digits or dashes (got ${JSON.stringify(name)})`,
          'ASTERISK_NODES_FILE nodes[1]: pjsipDir must be an absolute path (got "x")',
        ]);
      }
    });

    it('is unique', () => {
      expect(problems([local({ name: 'a' }), local({ name: 'b' }), ssh({ name: 'a' })])).toEqual([
        'ASTERISK_NODES_FILE nodes[2]: name "a" is already the name of nodes[0]',
      ]);
    });
  });

  it('refuses a missing required field and a transport other than local or ssh', () => {
    expect(problems([without(local(), 'pjsipDir', 'dialplanDir', 'cli', 'transport')])).toEqual([
      'ASTERISK_NODES_FILE node pbx-a: transport is missing',
      'ASTERISK_NODES_FILE node pbx-a: pjsipDir is missing',
      'ASTERISK_NODES_FILE node pbx-a: dialplanDir is missing',
      'ASTERISK_NODES_FILE node pbx-a: cli is missing',
    ]);
    expect(problems([local({ transport: 'SSH' })])).toEqual([
      'ASTERISK_NODES_FILE node pbx-a: transport must be "local" or "ssh" (got "SSH")',
    ]);
    const noTarget = without(ssh(), 'host', 'username', 'privateKeyFile', 'hostKey');
    expect(problems([noTarget])).toEqual([
      'ASTERISK_NODES_FILE node pbx-b: host is missing',
      'ASTERISK_NODES_FILE node pbx-b: username is missing',
      'ASTERISK_NODES_FILE node pbx-b: privateKeyFile is missing',
      'ASTERISK_NODES_FILE node pbx-b: hostKey is missing',
    ]);
  });

  it('refuses unknown fields, naming the field it was probably meant to be', () => {
    expect(problems([local({ pjsipdir: '/x', hots: 'pbx' })])).toEqual([
      'ASTERISK_NODES_FILE node pbx-a: unknown field "pjsipdir" (did you mean pjsipDir?)',
      'ASTERISK_NODES_FILE node pbx-a: unknown field "hots"',
    ]);
  });

  it('refuses the ssh fields on a local node', () => {
    expect(problems([local({ host: 'pbx-a', port: 22, privateKeyFile: keyFile('k') })])).toEqual([
      'ASTERISK_NODES_FILE node pbx-a: host is only for transport "ssh"; this node\'s transport is "local"',
      'ASTERISK_NODES_FILE node pbx-a: port is only for transport "ssh"; this node\'s transport is "local"',
      'ASTERISK_NODES_FILE node pbx-a: privateKeyFile is only for transport "ssh"; this node\'s transport is "local"',
    ]);
  });

  it('takes directories as absolute paths only', () => {
    for (const value of ['', 'etc/asterisk', './x', '/etc/a\nb', 42]) {
      expect(problems([local({ dialplanDir: value })])).toEqual([
        `ASTERISK_NODES_FILE node pbx-a: dialplanDir must be an absolute path (got ${JSON.stringify(value)})`,
      ]);
    }
  });

  it('takes cli as a non-empty array of non-empty strings', () => {
    for (const value of ['asterisk', [], [''], ['asterisk', ''], ['asterisk', 5], ['a\0b'], null]) {
      expect(problems([local({ cli: value })])).toEqual([
        expect.stringMatching(
          /^ASTERISK_NODES_FILE node pbx-a: cli must be the command as a non-empty array/,
        ),
      ]);
    }
  });

  it('takes fileMode as an octal string and fileGroup as a group name or gid', () => {
    expect(problems([local({ fileMode: 640, fileGroup: 'bad group' })])).toEqual([
      'ASTERISK_NODES_FILE node pbx-a: fileMode must be an octal mode as a string, such as "0640" (got 640)',
      'ASTERISK_NODES_FILE node pbx-a: fileGroup must be a group name or gid (got "bad group")',
    ]);
    for (const fileMode of ['0999', '64', '00640', 'rw-r-----']) {
      expect(problems([local({ fileMode })])).toHaveLength(1);
    }
    expect(problems([local({ fileGroup: null })])).toHaveLength(1);
  });

  describe('an ssh node', () => {
    it('takes port 1 to 65535, 22 by default', () => {
      expect(
        accepted([ssh({ port: 1 }), ssh({ name: 'c', port: 65535 })]).map((n) => n.ssh?.port),
      ).toEqual([1, 65535]);
      for (const port of [0, 65536, 22.5, '22', null]) {
        expect(problems([ssh({ port })])).toEqual([
          `ASTERISK_NODES_FILE node pbx-b: port must be an integer from 1 to 65535 (got ${JSON.stringify(port)})`,
        ]);
      }
    });

    it('takes hostKey as SHA256: and 43 base64 characters, as `ssh-keygen -lf` prints it', () => {
      for (const hostKey of [
        `${HOST_KEY}=`,
        HOST_KEY.slice(0, -1),
        `256 ${HOST_KEY} root@pbx (ED25519)`,
        HOST_KEY.replace('SHA256', 'sha256'),
        'MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48',
      ]) {
        expect(problems([ssh({ hostKey })])).toEqual([
          expect.stringMatching(
            /^ASTERISK_NODES_FILE node pbx-b: hostKey must be the server's key fingerprint/,
          ),
        ]);
      }
    });

    it('takes a host name or address and a user name, never an option', () => {
      expect(problems([ssh({ host: '-oProxyCommand=x', username: '' })])).toEqual([
        'ASTERISK_NODES_FILE node pbx-b: host must be a host name or an IP address (got "-oProxyCommand=x")',
        'ASTERISK_NODES_FILE node pbx-b: username must be a user name (got "")',
      ]);
      expect(problems([ssh({ host: 'pbx b', username: '-l' })])).toHaveLength(2);
      expect(accepted([ssh({ host: '192.0.2.7', username: 'svc.portal' })])).toHaveLength(1);
    });
  });

  describe('the private key file', () => {
    const refusedKey = (privateKeyFile: string): string[] => problems([ssh({ privateKeyFile })]);

    it('is refused when readable or writable by group or others, as OpenSSH refuses it', () => {
      const key = keyFile('id_open', 0o644);
      expect(refusedKey(key)).toEqual([
        `ASTERISK_NODES_FILE node pbx-b: privateKeyFile ${key} is readable by group or others (mode 0644); chmod 600 it`,
      ]);
      const writable = keyFile('id_writable', 0o620);
      expect(refusedKey(writable)).toEqual([
        `ASTERISK_NODES_FILE node pbx-b: privateKeyFile ${writable} is writable by group or others (mode 0620); chmod 600 it`,
      ]);
      for (const mode of [0o640, 0o604, 0o601, 0o610]) {
        expect(refusedKey(keyFile(`id_${mode.toString(8)}`, mode))).toHaveLength(1);
      }
    });

    it('is accepted at mode 0600 or 0400', () => {
      expect(accepted([ssh({ privateKeyFile: keyFile('a', 0o600) })])).toHaveLength(1);
      expect(accepted([ssh({ privateKeyFile: keyFile('b', 0o400) })])).toHaveLength(1);
    });

    it('is refused when missing, not a regular file, unreadable or relative', () => {
      const missing = path.join(dir, 'nope');
      expect(refusedKey(missing)).toEqual([
        `ASTERISK_NODES_FILE node pbx-b: privateKeyFile ${missing} does not exist`,
      ]);
      const sub = path.join(dir, 'keys');
      fs.mkdirSync(sub, { mode: 0o700 });
      expect(refusedKey(sub)).toEqual([
        `ASTERISK_NODES_FILE node pbx-b: privateKeyFile ${sub} is not a regular file`,
      ]);
      expect(refusedKey('id_ed25519')).toEqual([
        'ASTERISK_NODES_FILE node pbx-b: privateKeyFile must be an absolute path (got "id_ed25519")',
      ]);
    });

    it('is refused when this process cannot read it', () => {
      // Root reads any file whatever its mode; a write-only proc file is unreadable even to it.
      const unreadable =
        process.getuid?.() === 0 ? '/proc/sys/vm/compact_memory' : keyFile('id_wo', 0o200);
      if (!fs.existsSync(unreadable)) return;
      expect(refusedKey(unreadable)).toEqual([
        `ASTERISK_NODES_FILE node pbx-b: privateKeyFile ${unreadable} cannot be read (permission denied)`,
      ]);
    });

    it('is followed through a symbolic link, whose target must be private', () => {
      const link = path.join(dir, 'id_link');
      fs.symlinkSync(keyFile('id_target', 0o644), link);
      expect(refusedKey(link)).toEqual([
        `ASTERISK_NODES_FILE node pbx-b: privateKeyFile ${link} is readable by group or others (mode 0644); chmod 600 it`,
      ]);
    });
  });

  describe('the file itself', () => {
    /** The one problem of a nodes file with this content. */
    const fileProblem = (content: string): string[] => problems(content);

    it('is a non-empty JSON array of node objects', () => {
      const file = path.join(dir, 'nodes.json');
      expect(fileProblem(JSON.stringify({ nodes: [local()] }))).toEqual([
        `ASTERISK_NODES_FILE ${file} must hold a JSON array of node objects (got an object)`,
      ]);
      expect(fileProblem('"pbx-a"')).toEqual([
        `ASTERISK_NODES_FILE ${file} must hold a JSON array of node objects (got string "pbx-a")`,
      ]);
      expect(fileProblem('[]')).toEqual([
        `ASTERISK_NODES_FILE ${file} lists no node; at least one is needed`,
      ]);
      expect(fileProblem(JSON.stringify([local(), 'pbx-b', null, [1]]))).toEqual([
        'ASTERISK_NODES_FILE nodes[1]: must be an object (got string "pbx-b")',
        'ASTERISK_NODES_FILE nodes[2]: must be an object (got null)',
        'ASTERISK_NODES_FILE nodes[3]: must be an object (got an array)',
      ]);
    });

    it('is one line when it is not JSON, saying where without quoting it', () => {
      const file = path.join(dir, 'nodes.json');
      expect(fileProblem('[\n  {"name": "a",}\n]')).toEqual([
        `ASTERISK_NODES_FILE ${file} is not valid JSON (Expected double-quoted property name at line 2, column 16)`,
      ]);
      expect(fileProblem('[{"name": "a"}')).toEqual([
        `ASTERISK_NODES_FILE ${file} is not valid JSON (Expected ',' or ']' after array element at line 1, column 15)`,
      ]);
      expect(fileProblem('[{"name": ')).toEqual([
        `ASTERISK_NODES_FILE ${file} is not valid JSON (it ends too early)`,
      ]);
      // ASTERISK_NODES_FILE pointed at the key by mistake: nothing of it is shown.
      const key = fs.readFileSync(keyFile('id_rsa'), 'utf8');
      expect(fileProblem(key)).toEqual([
        expect.stringMatching(new RegExp(`^ASTERISK_NODES_FILE ${file} is not valid JSON \\(`)),
      ]);
      expect(fileProblem(`{"a": ${KEY_TEXT}}`)).toEqual([
        `ASTERISK_NODES_FILE ${file} is not valid JSON (unexpected character)`,
      ]);
      // An editor's byte order mark is no error.
      expect(fileProblem(`\uFEFF${JSON.stringify([local({ cli: 'asterisk' })])}`)).toHaveLength(1);
    });

    it('is one line when it is missing or cannot be read', () => {
      const missing = path.join(dir, 'missing.json');
      expect(loadAsteriskNodes(validateEnvironment({ ASTERISK_NODES_FILE: missing }))).toEqual({
        problems: [`ASTERISK_NODES_FILE ${missing} does not exist`],
      });
      expect(loadAsteriskNodes(validateEnvironment({ ASTERISK_NODES_FILE: dir }))).toEqual({
        problems: [`ASTERISK_NODES_FILE ${dir} is a directory, not a file`],
      });
    });
  });
});
