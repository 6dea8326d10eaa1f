export interface SshTargetConfig {
  host: string;
  port: number;
  username: string;
  privateKeyFile: string;
  hostKey: string;
}

export interface AsteriskNodeConfig {
  name: string;
  transport: 'local' | 'ssh';
  pjsipDir: string;
  dialplanDir: string;
  /** Program and leading arguments; `-rx <command>` is appended. */
  cli: string[];
  fileMode: number;
  fileGroup: string | undefined;
  /** Present exactly when transport is 'ssh'. */
  ssh?: SshTargetConfig;
}
