import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { constants as fsConstants, promises as fs } from 'node:fs';
import path from 'node:path';
import { PortalConfig } from '../config/portal-config.service';

/** The two files the portal owns; nothing else is ever created or touched. */
export type GeneratedFileKind = 'endpoints' | 'routing';

const FILE_NAMES: Record<GeneratedFileKind, string> = {
  endpoints: 'generated_endpoints.conf',
  routing: 'generated_routing.conf',
};

/** Both files of the last successful apply, in one file so the pair is replaced atomically. */
const LAST_GOOD_NAME = '.synergycall-last-good.json';

// No name here can match Asterisk's `*.conf` include glob, so a leftover is never loaded.
const tempName = (name: string): string =>
  `.${name.replace(/^\./, '')}.${randomBytes(6).toString('hex')}.tmp`;
const STALE_TEMP =
  /^\.(generated_(endpoints|routing)\.conf|synergycall-last-good\.json)\.[0-9a-f]{12}\.tmp$/;

/** Both files' contents; null where the file does not exist. */
export type FilePair = Record<GeneratedFileKind, string | null>;

/** Where the docs say how to create the include directories. */
export const INCLUDE_DIRECTORIES_DOC = 'docs/asterisk.md, "Include directories"';

export class ConfigWriteError extends Error {}

/**
 * The only provider that touches the filesystem. Writes are atomic: a temp file in the same
 * directory, fsync, rename over the target, fsync the directory.
 */
@Injectable()
export class ConfigWriter {
  constructor(private readonly config: PortalConfig) {}

  pathOf(kind: GeneratedFileKind): string {
    const { pjsipDir, dialplanDir } = this.config.asterisk;
    return path.join(kind === 'endpoints' ? pjsipDir : dialplanDir, FILE_NAMES[kind]);
  }

  private get lastGoodPath(): string {
    return path.join(this.config.asterisk.pjsipDir, LAST_GOOD_NAME);
  }

  /** Fails with one clear line when a target directory is missing or not writable. */
  async checkDirectories(): Promise<void> {
    for (const kind of ['endpoints', 'routing'] as const) {
      const problem = await this.directoryProblem(kind);
      if (problem) throw new ConfigWriteError(problem);
    }
  }

  /** Why the directory of `kind` cannot take the file (one line), or null when it can. */
  async directoryProblem(kind: GeneratedFileKind): Promise<string | null> {
    const dir = path.dirname(this.pathOf(kind));
    const variable = kind === 'endpoints' ? 'ASTERISK_PJSIP_DIR' : 'ASTERISK_DIALPLAN_DIR';
    try {
      if (!(await fs.stat(dir)).isDirectory()) return `${variable} ${dir} is not a directory`;
      await fs.access(dir, fsConstants.W_OK | fsConstants.X_OK);
      return null;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return code === 'ENOENT'
        ? `${variable} ${dir} does not exist; create it (${INCLUDE_DIRECTORIES_DOC})`
        : `${variable} ${dir} is not writable by the portal (${code ?? 'error'})`;
    }
  }

  /** The file's current content, or null when it does not exist. */
  async read(kind: GeneratedFileKind): Promise<string | null> {
    return this.readIfExists(this.pathOf(kind));
  }

  /** Both files as they are on disk now. */
  async readPair(): Promise<FilePair> {
    return { endpoints: await this.read('endpoints'), routing: await this.read('routing') };
  }

  /** The last good pair, or null when there is none (or it is unreadable). */
  async readLastGood(): Promise<FilePair | null> {
    const text = await this.readIfExists(this.lastGoodPath);
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

  /** Puts `kind` back to `content`: written atomically, or removed where it is null. */
  async restore(kind: GeneratedFileKind, content: string | null): Promise<void> {
    if (content !== null) return this.write(kind, content);
    const target = this.pathOf(kind);
    try {
      await fs.rm(target, { force: true });
      await fsyncDirectory(path.dirname(target));
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new ConfigWriteError(`Could not remove ${target}: ${e.code ?? ''} ${e.message}`.trim());
    }
  }

  /** Records the pair used to roll back a failed apply; one rename, so never half of it. */
  async saveLastGood(pair: FilePair): Promise<void> {
    await this.atomicWrite(this.lastGoodPath, JSON.stringify(pair));
  }

  /** Forgets the last good pair: used when it only said "no files" and none are left. */
  async removeLastGood(): Promise<void> {
    await fs.rm(this.lastGoodPath, { force: true });
  }

  /** Removes temp files a crash left behind; returns their paths. Only our own names match. */
  async removeStaleTempFiles(): Promise<string[]> {
    const removed: string[] = [];
    for (const kind of ['endpoints', 'routing'] as const) {
      const dir = path.dirname(this.pathOf(kind));
      let names: string[];
      try {
        names = await fs.readdir(dir);
      } catch {
        continue; // a missing directory is reported by the apply that needs it
      }
      for (const name of names) {
        if (!STALE_TEMP.test(name)) continue;
        await fs.rm(path.join(dir, name), { force: true });
        removed.push(path.join(dir, name));
      }
    }
    return removed;
  }

  private async atomicWrite(target: string, content: string): Promise<void> {
    const { fileMode, fileGroup } = this.config.asterisk;
    const dir = path.dirname(target);
    const tmp = path.join(dir, tempName(path.basename(target)));
    try {
      const handle = await fs.open(tmp, 'wx', fileMode);
      try {
        await handle.writeFile(content, 'utf8');
        // open() applies the umask; set the mode Asterisk needs explicitly.
        await handle.chmod(fileMode);
        if (fileGroup !== undefined) await handle.chown(-1, await resolveGid(fileGroup));
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.rename(tmp, target);
      await fsyncDirectory(dir);
    } catch (err) {
      await fs.rm(tmp, { force: true }).catch(() => undefined);
      if (err instanceof ConfigWriteError) throw err;
      const e = err as NodeJS.ErrnoException;
      throw new ConfigWriteError(`Could not write ${target}: ${e.code ?? ''} ${e.message}`.trim());
    }
  }

  private async readIfExists(file: string): Promise<string | null> {
    try {
      return await fs.readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }
}

async function fsyncDirectory(dir: string): Promise<void> {
  // The rename is durable only once the directory entry is on disk.
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function resolveGid(group: string): Promise<number> {
  if (/^\d+$/.test(group)) return Number(group);
  const lines = (await fs.readFile('/etc/group', 'utf8')).split('\n');
  const entry = lines.map((l) => l.split(':')).find((f) => f[0] === group);
  if (!entry)
    throw new ConfigWriteError(`ASTERISK_FILE_GROUP ${group} is not a group on this host`);
  return Number(entry[2]);
}
