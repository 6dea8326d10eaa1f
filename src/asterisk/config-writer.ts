import path from 'node:path';
import type { AsteriskNodeConfig } from '../config/asterisk-nodes';
import { UnknownGroupError } from './nodes/local-connection';
import type { NodeConnection } from './nodes/node-connection';
import { STALE_TEMP } from './nodes/temp-names';

/** The two files the portal owns; nothing else is ever created or touched. */
export type GeneratedFileKind = 'endpoints' | 'routing';

const FILE_NAMES: Record<GeneratedFileKind, string> = {
  endpoints: 'generated_endpoints.conf',
  routing: 'generated_routing.conf',
};

/** Both files of the last successful apply, in one file so the pair is replaced atomically. */
const LAST_GOOD_NAME = '.synergycall-last-good.json';

const KINDS: readonly GeneratedFileKind[] = ['endpoints', 'routing'];

/** Both files' contents; null where the file does not exist. */
export type FilePair = Record<GeneratedFileKind, string | null>;

/** Where the docs say how to create the include directories. */
export const INCLUDE_DIRECTORIES_DOC = 'docs/asterisk.md, "Include directories"';

export class ConfigWriteError extends Error {}

/** Where a setting of a node is configured, to name it in a message. */
export type SettingName = (field: 'pjsipDir' | 'dialplanDir' | 'fileGroup') => string;

/**
 * The generated files of one node, through that node's connection (local disk or SFTP): the
 * only code that writes them. Writes are atomic: a temp file in the same directory, fsync,
 * rename over the target, fsync the directory.
 */
export class ConfigWriter {
  constructor(
    private readonly node: AsteriskNodeConfig,
    private readonly files: NodeConnection,
    private readonly setting: SettingName,
  ) {}

  pathOf(kind: GeneratedFileKind): string {
    const { pjsipDir, dialplanDir } = this.node;
    return path.posix.join(kind === 'endpoints' ? pjsipDir : dialplanDir, FILE_NAMES[kind]);
  }

  private get lastGoodPath(): string {
    return path.posix.join(this.node.pjsipDir, LAST_GOOD_NAME);
  }

  /** Fails with one clear line when a target directory is missing or not writable. */
  async checkDirectories(): Promise<void> {
    // Side by side: over SFTP each check is a few round trips, and requests pipeline.
    const problems = await Promise.all(KINDS.map((kind) => this.directoryProblem(kind)));
    const problem = problems.find((p) => p !== null);
    if (problem) throw new ConfigWriteError(problem);
  }

  /** Why the directory of `kind` cannot take the file (one line), or null when it can. */
  async directoryProblem(kind: GeneratedFileKind): Promise<string | null> {
    const dir = path.posix.dirname(this.pathOf(kind));
    const name = this.setting(kind === 'endpoints' ? 'pjsipDir' : 'dialplanDir');
    const problem = await this.guard(`check ${dir}`, () => this.files.directoryProblem(dir));
    if (problem === null) return null;
    if (problem.code === 'ENOENT') {
      return `${name} ${dir} does not exist; create it (${INCLUDE_DIRECTORIES_DOC})`;
    }
    if (problem.code === 'ENOTDIR') return `${name} ${dir} is not a directory`;
    return `${name} ${dir} is not writable by the portal (${problem.code})`;
  }

  /** The file's content, or null when it does not exist. */
  async read(kind: GeneratedFileKind): Promise<string | null> {
    const file = this.pathOf(kind);
    return this.guard(`read ${file}`, () => this.files.readFile(file));
  }

  /** Both files as they are on disk now. */
  async readPair(): Promise<FilePair> {
    const [endpoints, routing] = await Promise.all([this.read('endpoints'), this.read('routing')]);
    return { endpoints, routing };
  }

  /** The last good pair, or null when there is none (or it is unreadable). */
  async readLastGood(): Promise<FilePair | null> {
    const file = this.lastGoodPath;
    const text = await this.guard(`read ${file}`, () => this.files.readFile(file));
    if (text === null) return null;
    try {
      const parsed = JSON.parse(text) as Partial<Record<GeneratedFileKind, unknown>>;
      const valid = (v: unknown): v is string | null => typeof v === 'string' || v === null;
      if (valid(parsed.endpoints) && valid(parsed.routing)) {
        return { endpoints: parsed.endpoints, routing: parsed.routing };
      }
    } catch {
      // fall through: treated as absent
    }
    return null;
  }

  async write(kind: GeneratedFileKind, content: string): Promise<void> {
    await this.atomicWrite(this.pathOf(kind), content);
  }

  /**
   * Writes several files as close to together as files allow: every new file is written and
   * fsync'd before the first is renamed over its target, so a failure while writing (a full
   * disk, a lost SSH session) leaves the old pair whole.
   */
  async writeAll(files: { kind: GeneratedFileKind; content: string }[]): Promise<void> {
    if (files.length === 0) return;
    const { fileMode: mode, fileGroup: group } = this.node;
    const targets = files.map((f) => ({ path: this.pathOf(f.kind), content: f.content }));
    await this.guard(`write ${targets.map((t) => t.path).join(' and ')}`, () =>
      this.files.writeFilesAtomic(targets, { mode, group }),
    );
  }

  /** Puts `kind` back to `content`: written atomically, or removed where it is null. */
  async restore(kind: GeneratedFileKind, content: string | null): Promise<void> {
    if (content !== null) return this.write(kind, content);
    const target = this.pathOf(kind);
    await this.guard(`remove ${target}`, () => this.files.remove(target));
  }

  /** Records the pair used to roll back a failed apply; one rename, so never half of it. */
  async saveLastGood(pair: FilePair): Promise<void> {
    await this.atomicWrite(this.lastGoodPath, JSON.stringify(pair));
  }

  /** Forgets the last good pair: used when it only said "no files" and none are left. */
  async removeLastGood(): Promise<void> {
    const file = this.lastGoodPath;
    await this.guard(`remove ${file}`, () => this.files.remove(file));
  }

  /** Removes temp files a crash left behind; returns their paths. Only our own names match. */
  async removeStaleTempFiles(): Promise<string[]> {
    const removed = await Promise.all(
      KINDS.map(async (kind) => {
        const dir = path.posix.dirname(this.pathOf(kind));
        const names = await this.guard(`list ${dir}`, () => this.files.list(dir));
        const stale = (names ?? []).filter((name) => STALE_TEMP.test(name));
        return Promise.all(
          stale.map(async (name) => {
            const file = path.posix.join(dir, name);
            await this.guard(`remove ${file}`, () => this.files.remove(file));
            return file;
          }),
        );
      }),
    );
    return removed.flat();
  }

  private async atomicWrite(target: string, content: string): Promise<void> {
    const { fileMode: mode, fileGroup: group } = this.node;
    await this.guard(`write ${target}`, () =>
      this.files.writeFilesAtomic([{ path: target, content }], { mode, group }),
    );
  }

  /** Every failure of the node's files as one ConfigWriteError line naming the file. */
  private async guard<T>(what: string, step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (err) {
      if (err instanceof UnknownGroupError) {
        throw new ConfigWriteError(`${this.setting('fileGroup')} ${err.message}`);
      }
      const e = err as NodeJS.ErrnoException;
      const detail = e.code && !e.message.includes(e.code) ? `${e.code} ${e.message}` : e.message;
      throw new ConfigWriteError(`Could not ${what}: ${detail}`);
    }
  }
}
