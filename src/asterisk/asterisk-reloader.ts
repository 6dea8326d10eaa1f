import { setTimeout as sleep } from 'node:timers/promises';
import {
  classifyCliFailure,
  DIALPLAN_RELOADED,
  PJSIP_RELOADED,
  parseDialplanShow,
  parseEndpointListing,
} from './cli/cli-output-parsers';
import type { ProcessOutcome } from './cli/cli-process-runner';
import type { NodeConnection } from './nodes/node-connection';
import { SshError } from './transport/ssh-session';

export interface CliResult {
  command: string;
  stdout: string;
  stderr: string;
  exitCode: number | null;
  durationMs: number;
}

/** What Asterisk must have loaded after a reload: exactly the generated ids. */
export interface ExpectedAsteriskState {
  endpoints: string[];
  aors: string[];
  auths: string[];
  extensions: string[];
}

/** Which of the two reloads to run; an unchanged file needs none. */
export interface ReloadParts {
  pjsip: boolean;
  dialplan: boolean;
}
export const ALL_PARTS: ReloadParts = { pjsip: true, dialplan: true };

/** What Asterisk said during a step, and how long its CLI calls took (wall time). */
export interface CliExchange {
  transcript: string[];
  cliMs: number;
}

export class AsteriskError extends Error {
  constructor(
    message: string,
    readonly transcript: string[],
    /** True when the CLI itself could not be run (missing, not executable): Asterisk was not asked. */
    readonly cliUnusable = false,
  ) {
    super(message);
  }
}

/** What an apply's dry run can know without changing anything: null where all is well. */
export interface CliProbe {
  cli: string | null;
  asterisk: string | null;
}

/** What the CLI of one node needs to know besides its connection. */
export interface CliSettings {
  /** The node's CLI as configured, and where: named in messages (`"asterisk" (ASTERISK_CLI)`). */
  cliLabel: string;
  timeoutMs: number;
  /** The portal's extension range: objects outside it are not the portal's to judge. */
  extensionRange: { min: number; max: number };
}

const IN_PROGRESS_RETRIES = 4;
const MAX_OUTPUT_MB = 64;
const RETRY_BASE_MS = 250;

/**
 * The Asterisk CLI of one node: `<cli> -rx "<command>"` through the node's connection (no
 * shell locally; every argument quoted over SSH), with a timeout. Exit codes lie (a reload
 * that dropped objects still says success), so a reload is judged by reading the loaded state
 * back.
 */
export class AsteriskReloader {
  constructor(
    private readonly connection: NodeConnection,
    private readonly settings: CliSettings,
  ) {}

  async run(command: string): Promise<CliResult> {
    const { cliLabel, timeoutMs } = this.settings;
    const started = performance.now();
    let out: ProcessOutcome;
    try {
      out = await this.connection.runCli(command, timeoutMs);
    } catch (err) {
      const message = (err as Error).message;
      // A lost or timed-out SSH session: the CLI may well work, the node did not answer.
      if (err instanceof SshError) throw new AsteriskError(message, [`${command}: ${message}`]);
      throw new AsteriskError(
        `Asterisk CLI could not be run: ${cliLabel}: ${message}`,
        [`${command}: ${message}`],
        true,
      );
    }
    const durationMs = Math.round(performance.now() - started);
    if (out.killed) {
      throw new AsteriskError(
        `"${command}" timed out after ${timeoutMs} ms (ASTERISK_TIMEOUT_MS)`,
        [`${command}: timeout after ${timeoutMs} ms`],
      );
    }
    if (out.errno === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') {
      throw new AsteriskError(`"${command}" printed more than ${MAX_OUTPUT_MB} MB`, [
        `${command}: output over ${MAX_OUTPUT_MB} MB`,
      ]);
    }
    if (out.errno !== null) {
      const what =
        out.errno === 'ENOENT'
          ? 'not found'
          : out.errno === 'EACCES'
            ? 'not executable'
            : `could not be run (${out.errno})`;
      throw new AsteriskError(
        `Asterisk CLI ${what}: ${cliLabel}`,
        [`${command}: ${out.errno}`],
        true,
      );
    }
    return { command, stdout: out.stdout, stderr: out.stderr, exitCode: out.exitCode, durationMs };
  }

  /**
   * Whether the CLI runs and Asterisk answers, asked with a read-only command the apply's
   * verify uses too (a missing context is still an answer).
   */
  async probe(context: string): Promise<CliProbe> {
    try {
      const res = await this.run(`dialplan show ${context}`);
      return { cli: null, asterisk: classifyCliFailure(res.stdout, res.stderr, res.exitCode) };
    } catch (err) {
      const message = (err as Error).message;
      if (err instanceof AsteriskError && err.cliUnusable) {
        return { cli: message, asterisk: 'not asked: the CLI could not be run' };
      }
      return { cli: null, asterisk: message };
    }
  }

  /** Reloads PJSIP then the dialplan (each unless told not to); returns what Asterisk said. */
  async reload(parts: ReloadParts = ALL_PARTS): Promise<CliExchange> {
    const transcript: string[] = [];
    let cliMs = 0;
    for (let attempt = 0; parts.pjsip; attempt++) {
      const res = await this.runChecked('module reload res_pjsip.so', transcript, true);
      cliMs += res.durationMs;
      if (res.stdout.includes(PJSIP_RELOADED)) break;
      const busy = /already in progress/.test(res.stdout);
      if (!busy || attempt >= IN_PROGRESS_RETRIES) {
        throw new AsteriskError(
          busy
            ? `Asterisk kept answering "a module reload request is already in progress" after ${IN_PROGRESS_RETRIES + 1} tries`
            : `Unexpected answer to "module reload res_pjsip.so": ${firstLine(res)}`,
          transcript,
        );
      }
      await sleep(RETRY_BASE_MS * 2 ** attempt);
    }
    if (!parts.dialplan) return { transcript, cliMs };
    const dp = await this.runChecked('dialplan reload', transcript);
    if (!dp.stdout.includes(DIALPLAN_RELOADED)) {
      throw new AsteriskError(
        `Unexpected answer to "dialplan reload": ${firstLine(dp)}`,
        transcript,
      );
    }
    return { transcript, cliMs: cliMs + dp.durationMs };
  }

  /**
   * Reads back endpoints with their aors and auths, and the dialplan; throws naming missing
   * or extra ids. The endpoint listing shows only loaded aors and auths under each endpoint,
   * so `pjsip show aors` and `pjsip show auths` would add two CLI runs and nothing else.
   */
  async verify(expected: ExpectedAsteriskState, context: string): Promise<CliExchange> {
    const transcript: string[] = [];
    let cliMs = 0;
    // Both read-backs at once (a real Asterisk takes 30-50 ms for each at 1,000 users).
    const readBack = async <T>(command: string, parse: (stdout: string) => T): Promise<T> => {
      const res = await this.runChecked(command, transcript);
      cliMs = Math.max(cliMs, res.durationMs); // they start together: the longer one is the wait
      try {
        return parse(res.stdout);
      } catch (err) {
        throw new AsteriskError(
          `Could not read Asterisk's state back: ${(err as Error).message}`,
          transcript,
        );
      }
    };
    const [listed, shown] = await Promise.all([
      readBack('pjsip show endpoints', parseEndpointListing),
      readBack(`dialplan show ${context}`, (out) => parseDialplanShow(out, context)),
    ]);
    const problems: string[] = [];
    const { min, max } = this.settings.extensionRange;
    // Objects outside the portal's range (other endpoints of the PBX) are not ours to judge.
    const ours = (id: string): boolean => {
      const m = /^(\d+)(-auth)?$/.exec(id);
      return m !== null && Number(m[1]) >= min && Number(m[1]) <= max;
    };
    const compare = (what: string, loaded: string[], wanted: string[], all = false): void => {
      const have = new Set(loaded);
      const want = new Set(wanted);
      const missing = wanted.filter((id) => !have.has(id));
      const extra = loaded.filter((id) => !want.has(id) && (all || ours(id)));
      if (missing.length) problems.push(`${what} missing: ${summarize(missing)}`);
      if (extra.length) problems.push(`${what} not expected: ${summarize(extra)}`);
    };
    compare('endpoints', listed.ids, expected.endpoints);
    compare('aors', listed.aors, expected.aors);
    compare('auths', listed.auths, expected.auths);
    // The context is the portal's alone, so every extension in it counts.
    compare('dialplan extensions', shown.exists ? shown.extensions : [], expected.extensions, true);
    if (shown.exists && shown.priorityCount !== expected.extensions.length * 2) {
      problems.push(
        `dialplan has ${shown.priorityCount} priorities, expected ${expected.extensions.length * 2}`,
      );
    }
    if (problems.length) {
      throw new AsteriskError(
        `Asterisk did not load the generated config: ${problems.join('; ')}`,
        transcript,
      );
    }
    return { transcript, cliMs };
  }

  private async runChecked(
    command: string,
    transcript: string[],
    allowBusy = false,
  ): Promise<CliResult> {
    let res: CliResult;
    try {
      res = await this.run(command);
    } catch (err) {
      if (err instanceof AsteriskError) transcript.push(...err.transcript);
      throw new AsteriskError((err as Error).message, transcript);
    }
    transcript.push(`${command}: ${firstLine(res)} (exit ${res.exitCode}, ${res.durationMs} ms)`);
    const failure = classifyCliFailure(res.stdout, res.stderr, res.exitCode);
    if (failure && !(allowBusy && /already in progress/.test(res.stdout))) {
      throw new AsteriskError(`"${command}" failed: ${failure}`, transcript);
    }
    return res;
  }
}

function firstLine(res: CliResult): string {
  const text = (res.stdout.trim() || res.stderr.trim()).split('\n')[0] ?? '';
  return text.length > 200 ? `${text.slice(0, 200)}...` : text || '(no output)';
}

function summarize(ids: string[]): string {
  return ids.length > 20
    ? `${ids.slice(0, 20).join(', ')} and ${ids.length - 20} more`
    : ids.join(', ');
}
