import {
  type AsteriskNodeConfig,
  loadAsteriskNodes,
  nodeFileSystem,
  type NodesFileAccess,
} from './asterisk-nodes';
import { checkEnvironment, ConfigValidationError, EnvironmentVariables } from './env.validation';

/** Everything start-up validates before anything runs. */
export interface ValidatedConfiguration {
  env: EnvironmentVariables;
  nodes: AsteriskNodeConfig[];
}

/**
 * The environment and the Asterisk nodes, validated together: the problems of both are one
 * ConfigValidationError, so a bad variable and a bad nodes file are fixed in one go.
 */
export function validateConfiguration(
  raw: Record<string, unknown>,
  files: NodesFileAccess = nodeFileSystem,
): ValidatedConfiguration {
  const { env, problems } = checkEnvironment(raw);
  const loaded = loadAsteriskNodes(env, files);
  if ('problems' in loaded) throw new ConfigValidationError([...problems, ...loaded.problems]);
  if (problems.length > 0) throw new ConfigValidationError(problems);
  return { env, nodes: loaded.nodes };
}
