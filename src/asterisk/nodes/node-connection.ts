import type { ProcessOutcome } from '../cli/cli-process-runner';

/** How a file is written on a node: its mode, and its group when one is configured. */
export interface FileOwnership {
  mode: number;
  /** A group name or number; resolved on the node the file is written on. */
  group: string | undefined;
}

export interface FileContent {
  path: string;
  content: string;
}

/** Why a directory cannot take the generated files; null when it can. */
/** `code` is errno-like: ENOENT, ENOTDIR, EACCES... */
export type DirectoryProblem = null | { code: string };

/**
 * One Asterisk node as an apply sees it: its files and its CLI, on this machine or over SSH.
 * Everything the apply, the recovery and the registration reads do to a node goes through
 * one of these, so the local node and a remote one are driven by the same code.
 */
export interface NodeConnection {
  /** Runs the node's CLI with `-rx <command>` appended; each argument reaches it verbatim. */
  runCli(command: string, timeoutMs: number): Promise<ProcessOutcome>;
  /** The file's content, or null when it does not exist. */
  readFile(file: string): Promise<string | null>;
  /**
   * Replaces the files: each written to a temp file in its directory and fsync'd, then all
   * renamed over their targets one right after the other, then the directories fsync'd. A
   * failure while writing leaves every old file (and at most temp files no glob matches).
   */
  writeFilesAtomic(files: FileContent[], ownership: FileOwnership): Promise<void>;
  /** Removes the file; one that is already gone is not an error. */
  remove(file: string): Promise<void>;
  /** The names in a directory, or null when it does not exist. */
  list(dir: string): Promise<string[] | null>;
  /** Whether the portal can create and rename files in `dir`. */
  directoryProblem(dir: string): Promise<DirectoryProblem>;
  close(): Promise<void>;
}
