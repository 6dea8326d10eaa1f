import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const FAKE_CLI = path.resolve(__dirname, '..', 'fake-asterisk', 'asterisk');

export interface Faults {
  down?: boolean;
  reloadInProgress?: number;
  delayMs?: Record<string, number>;
  rejectObjects?: string[];
  dropExtensions?: string[];
}

/** A phone registered in the fake (test/fake-asterisk/README.md, `contacts.json`). */
export interface FakeContact {
  aor: string;
  uri: string;
  /** Unix seconds: REGISTER time plus the granted expiry. */
  expirationTime: number;
  status?: 'Avail' | 'Unavail' | 'NonQual' | 'Unknown';
  rttMs?: number | null;
  userAgent?: string;
  viaAddress?: string;
  viaPort?: number;
  callId?: string;
  endpoint?: string;
  qualifyFrequency?: number;
}

/**
 * A throw-away /etc/asterisk with the administrator's include lines, the portal's two include
 * directories, and the fake CLI's state. `env` is what the portal and the fake need.
 */
export class AsteriskSandbox {
  readonly root = mkdtempSync(path.join(os.tmpdir(), 'portal-asterisk-'));
  readonly etc = path.join(this.root, 'etc');
  readonly state = path.join(this.root, 'state');
  readonly pjsipDir = path.join(this.etc, 'pjsip.d', 'synergycall');
  readonly dialplanDir = path.join(this.etc, 'extensions.d', 'synergycall');
  readonly endpointsFile = path.join(this.pjsipDir, 'generated_endpoints.conf');
  readonly routingFile = path.join(this.dialplanDir, 'generated_routing.conf');
  /** The CLI the portal runs: the fake, bound to this sandbox (the portal passes no env). */
  readonly cli = path.join(this.root, 'asterisk');
  /** Every command the portal ran, one a line, written by the wrapper before the fake runs. */
  readonly callLog = path.join(this.root, 'calls.log');

  constructor() {
    mkdirSync(this.pjsipDir, { recursive: true });
    mkdirSync(this.dialplanDir, { recursive: true });
    mkdirSync(this.state, { recursive: true });
    writeFileSync(
      path.join(this.etc, 'pjsip.conf'),
      '; end of pjsip.conf\n#tryinclude pjsip.d/synergycall/*.conf\n',
    );
    writeFileSync(
      path.join(this.etc, 'extensions.conf'),
      '; end of extensions.conf\n#tryinclude extensions.d/synergycall/*.conf\n',
    );
    this.bindCli([FAKE_CLI]);
  }

  /**
   * Writes the CLI wrapper: it logs the command, then runs `program` (the fake, or node and a
   * copy of the compiled fake) bound to this sandbox, with the CLI's own arguments appended.
   */
  bindCli(program: string[]): void {
    const run = program.map((word) => `'${word}'`).join(' ');
    writeFileSync(
      this.cli,
      `#!/bin/sh\nprintf '%s\\n' "$2" >> '${this.callLog}'\nFAKE_ASTERISK_ETC='${this.etc}' FAKE_ASTERISK_STATE='${this.state}' exec ${run} "$@"\n`,
      { mode: 0o755 },
    );
  }

  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      ASTERISK_CLI: this.cli,
      ASTERISK_PJSIP_DIR: this.pjsipDir,
      ASTERISK_DIALPLAN_DIR: this.dialplanDir,
      ASTERISK_TIMEOUT_MS: '2000',
      ...extra,
    };
  }

  setFaults(faults: Faults): void {
    writeFileSync(path.join(this.state, 'faults.json'), JSON.stringify(faults));
  }

  /** Registers these phones (and only these) in the fake. */
  setContacts(contacts: FakeContact[]): void {
    writeFileSync(path.join(this.state, 'contacts.json'), JSON.stringify(contacts));
  }

  clearCalls(): void {
    rmSync(this.callLog, { force: true });
  }

  /** The commands run so far, in order. */
  calls(): string[] {
    return (this.read(this.callLog) ?? '').split('\n').filter((line) => line !== '');
  }

  clearFaults(): void {
    rmSync(path.join(this.state, 'faults.json'), { force: true });
  }

  read(file: string): string | null {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return null;
    }
  }

  /** Both generated files' current bytes. */
  snapshot(): { endpoints: string | null; routing: string | null } {
    return { endpoints: this.read(this.endpointsFile), routing: this.read(this.routingFile) };
  }

  listing(): string[] {
    return [
      ...readdirSync(this.pjsipDir).map((n) => `pjsip/${n}`),
      ...readdirSync(this.dialplanDir).map((n) => `dialplan/${n}`),
    ].sort();
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
