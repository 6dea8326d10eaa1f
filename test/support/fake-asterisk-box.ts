import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parsePjsipList } from '../../src/asterisk/cli/cli-output-parsers';
import { cliFixtureBytes } from '../fixtures';

/** What the fake-asterisk suites share: a throw-away box to run the fake CLI in, and inputs. */

const FAKE = path.resolve(__dirname, '..', 'fake-asterisk', 'asterisk');
export const CONTEXT = 'synergycall-internal';
const fixture = cliFixtureBytes;
export const THREE_ENDPOINTS = fixture('three.generated_endpoints.conf').toString('utf8');
export const THREE_ROUTING = fixture('three.generated_routing.conf').toString('utf8');

export interface Run {
  stdout: Buffer;
  stderr: Buffer;
  code: number | null;
  killed: boolean;
  ms: number;
}

/** A throw-away /etc/asterisk and state directory for one test. */
export class FakeAsteriskBox {
  readonly root = mkdtempSync(path.join(os.tmpdir(), 'fake-asterisk-'));
  readonly etc = path.join(this.root, 'etc');
  readonly state = path.join(this.root, 'state');
  readonly endpointsFile = path.join(
    this.etc,
    'pjsip.d',
    'synergycall',
    'generated_endpoints.conf',
  );
  readonly routingFile = path.join(
    this.etc,
    'extensions.d',
    'synergycall',
    'generated_routing.conf',
  );

  constructor() {
    mkdirSync(path.dirname(this.endpointsFile), { recursive: true });
    mkdirSync(path.dirname(this.routingFile), { recursive: true });
    mkdirSync(this.state);
    this.pjsipConf('; end of pjsip.conf\n#tryinclude pjsip.d/synergycall/*.conf\n');
    this.extensionsConf('; end of extensions.conf\n#tryinclude extensions.d/synergycall/*.conf\n');
  }

  pjsipConf(text: string): void {
    writeFileSync(path.join(this.etc, 'pjsip.conf'), text);
  }

  extensionsConf(text: string): void {
    writeFileSync(path.join(this.etc, 'extensions.conf'), text);
  }

  endpoints(text: string): void {
    writeFileSync(this.endpointsFile, text);
  }

  routing(text: string): void {
    writeFileSync(this.routingFile, text);
  }

  faults(faults: Record<string, unknown>): void {
    writeFileSync(path.join(this.state, 'faults.json'), JSON.stringify(faults));
  }

  /** The registered phones (README.md beside the fake: contacts.json). */
  contacts(contacts: Record<string, unknown>[]): void {
    writeFileSync(path.join(this.state, 'contacts.json'), JSON.stringify(contacts));
  }

  readFaults(): Record<string, unknown> {
    return JSON.parse(readFileSync(path.join(this.state, 'faults.json'), 'utf8')) as Record<
      string,
      unknown
    >;
  }

  get lockFile(): string {
    return path.join(this.state, 'reload.lock');
  }

  /**
   * Runs the fake (or `cli`) as the portal does (execFile); `kill` resolving kills it as a
   * timeout would.
   */
  run(
    command: string,
    options: {
      kill?: Promise<unknown>;
      env?: Record<string, string>;
      cwd?: string;
      cli?: string;
    } = {},
  ): Promise<Run> {
    const started = performance.now();
    return new Promise((resolve) => {
      const child = execFile(
        options.cli ?? FAKE,
        ['-rx', command],
        {
          encoding: 'buffer',
          cwd: options.cwd,
          env: {
            ...process.env,
            FAKE_ASTERISK_ETC: this.etc,
            FAKE_ASTERISK_STATE: this.state,
            ...options.env,
          },
        },
        (err, stdout, stderr) => {
          const e = err as (NodeJS.ErrnoException & { killed?: boolean; code?: unknown }) | null;
          resolve({
            stdout,
            stderr,
            code: e === null ? 0 : typeof e.code === 'number' ? e.code : null,
            killed: e?.killed === true,
            ms: performance.now() - started,
          });
        },
      );
      void options.kill?.then(() => child.kill('SIGKILL'));
    });
  }

  async out(command: string): Promise<string> {
    const res = await this.run(command);
    expect({ code: res.code, stderr: res.stderr.toString() }).toEqual({ code: 0, stderr: '' });
    return res.stdout.toString('utf8');
  }

  async reload(): Promise<void> {
    expect(await this.out('module reload res_pjsip.so')).toBe(
      fixture('module-reload-res_pjsip.ok.txt').toString(),
    );
    expect(await this.out('dialplan reload')).toBe(fixture('dialplan-reload.ok.txt').toString());
  }

  async loadThree(): Promise<void> {
    this.endpoints(THREE_ENDPOINTS);
    this.routing(THREE_ROUTING);
    await this.reload();
  }

  async ids(kind: 'endpoints' | 'aors' | 'auths'): Promise<string[]> {
    return parsePjsipList(await this.out(`pjsip show ${kind}`), kind).ids;
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** The three users' file cut to the users listed, in the fixture's own bytes. */
export function endpointsOf(...exts: string[]): string {
  const users = THREE_ENDPOINTS.trimEnd()
    .split(/\n\n(?=\[\d+\]\ntype=endpoint)/)
    .filter((u) => exts.includes(/^\[(\d+)\]/.exec(u)![1]));
  return `${users.join('\n\n')}\n`;
}

export async function waitFor(check: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await sleep(20);
  }
}
