import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { apiTokenProblem } from './env.validation';
import { StartupError } from './startup-error';

/** The file in EMBEDDED_DB_DIR that keeps the generated token between starts. */
export const API_TOKEN_FILE = 'api-token';

export interface KeptApiToken {
  token: string;
  /** Absolute path of the file. */
  file: string;
  /** Made by this start (else read from an earlier one). */
  created: boolean;
  /** The file was readable by others and has been made 0600. */
  tightened: boolean;
}

/**
 * The API token of a portal on the embedded database without PORTAL_API_TOKEN: read from
 * `<dataDir>/api-token`, or generated and written there (mode 0600) on the first start, so a
 * restart does not lock the admin out. The data directory already is the portal's own state
 * (and gone with it when an admin starts afresh), so the token lives and dies with the data.
 *
 * The directory may belong to the database's user (postgres, when the portal runs as root and
 * the cluster lives in it), so the file is opened without following a symlink and must be a regular file of this process's
 * user: whatever that user placed there is never read and printed.
 */
export function keptApiToken(dataDir: string): KeptApiToken {
  const file = path.join(path.resolve(dataDir), API_TOKEN_FILE);
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ...create(file), created: true, tightened: false };
    throw unusable(file, code === 'ELOOP' ? 'it is a symbolic link' : errorText(err));
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw unusable(file, 'it is not a regular file');
    const uid = process.getuid?.();
    if (uid !== undefined && stat.uid !== uid) {
      throw unusable(file, `it belongs to uid ${stat.uid}, not to this process's uid ${uid}`);
    }
    if (stat.size > 4096) throw unusable(file, 'it is larger than a token');
    const tightened = (stat.mode & 0o077) !== 0;
    if (tightened) fs.fchmodSync(fd, 0o600);
    // One token on one line; the newline the portal writes (or an editor adds) is not part of it.
    const token = fs.readFileSync(fd, 'utf8').replace(/\r?\n$/, '');
    const problem = apiTokenProblem(token);
    if (problem) throw unusable(file, `the token in it ${problem}`);
    return { token, file, created: false, tightened };
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes a new token atomically: a crash leaves either no file or a whole one. */
function create(file: string): { token: string; file: string } {
  const token = randomBytes(32).toString('base64url');
  const temp = `${file}.${process.pid}.tmp`;
  try {
    const flags =
      fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW;
    const fd = fs.openSync(temp, flags, 0o600);
    try {
      fs.fchmodSync(fd, 0o600);
      fs.writeFileSync(fd, `${token}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, file);
  } catch (err) {
    fs.rmSync(temp, { force: true });
    throw new StartupError(
      `The generated API token could not be kept in ${file} (${errorText(err)}); set PORTAL_API_TOKEN`,
    );
  }
  return { token, file };
}

function unusable(file: string, why: string): StartupError {
  return new StartupError(
    `${file} cannot be used as the API token file: ${why}; delete it to have a new token generated, or set PORTAL_API_TOKEN`,
  );
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
