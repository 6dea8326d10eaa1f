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
    writeFileSync(
      this.cli,
      `#!/bin/sh\nFAKE_ASTERISK_ETC='${this.etc}' FAKE_ASTERISK_STATE='${this.state}' exec '${FAKE_CLI}' "$@"\n`,
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
