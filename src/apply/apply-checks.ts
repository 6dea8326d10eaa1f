import type { AsteriskReloader } from '../asterisk/asterisk-reloader';
import type { ConfigWriter } from '../asterisk/config-writer';
import type { AsteriskNodeConfig } from '../config/asterisk-nodes';
import type { DryRunCheckDto } from './dto/apply.dto';

/**
 * What a real apply needs on one node and can be checked without changing anything: both
 * include directories, the CLI, Asterisk. A dry run shows them all; a failed apply names every
 * one that fails.
 */
export async function preflightChecks(
  writer: ConfigWriter,
  reloader: AsteriskReloader,
  node: AsteriskNodeConfig,
  sipContext: string,
): Promise<DryRunCheckDto[]> {
  const check = (name: DryRunCheckDto['name'], problem: string | null, fine: string) => ({
    node: node.name,
    name,
    ok: problem === null,
    message: problem ?? fine,
  });
  const { pjsipDir, dialplanDir, cli } = node;
  const probe = await reloader.probe(sipContext);
  const cliText = JSON.stringify(cli.length === 1 ? cli[0] : cli);
  return [
    check('pjsipDir', await writer.directoryProblem('endpoints'), `${pjsipDir} is writable`),
    check('dialplanDir', await writer.directoryProblem('routing'), `${dialplanDir} is writable`),
    check('cli', probe.cli, `${cliText} runs`),
    check('asterisk', probe.asterisk, 'Asterisk answers'),
  ];
}

/** The failing checks in one line: one alone as it is, several each by name. */
export function failingChecks(checks: DryRunCheckDto[]): string | null {
  const failing = checks.filter((c) => !c.ok);
  if (failing.length <= 1) return failing[0]?.message ?? null;
  return `${failing.length} checks fail: ${failing.map((c) => `${c.name}: ${c.message.replace(/\.$/, '')}`).join(' | ')}`;
}
