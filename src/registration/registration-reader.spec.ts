import type { CliResult } from '../asterisk/asterisk-reloader';
import type { AsteriskNodes, NodeSession } from '../asterisk/nodes/asterisk-nodes';
import type { AsteriskNodeConfig } from '../config/asterisk-nodes';
import { contactHash } from '../asterisk/cli/contact-parsers';
import { cliFixture } from '../../test/fixtures';
import { AOR_READS_PER_LISTING, type NodeContact, RegistrationReader } from './registration-reader';

const LONG = 'sip:1042@127.0.0.1:5491;rinstance=8e9a6d3c7e0e2c3f';

/** A CLI answering from `answers` (by command), counting calls and how many ran at once. */
function stubCli(answers: (command: string) => string | Error) {
  const calls: string[] = [];
  let [running, most] = [0, 0];
  const cli = {
    async run(command: string): Promise<CliResult> {
      calls.push(command);
      most = Math.max(most, ++running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
      const answer = answers(command);
      if (answer instanceof Error) {
        return { command, stdout: '', stderr: answer.message, exitCode: 1, durationMs: 5 };
      }
      return { command, stdout: answer, stderr: '', exitCode: 0, durationMs: 5 };
    },
  };
  // One local node whose sessions all answer through `cli`.
  const node = { name: 'local' } as AsteriskNodeConfig;
  const nodes = {
    all: [node],
    with: <T>(_: AsteriskNodeConfig, work: (s: NodeSession) => Promise<T>) =>
      work({ reloader: cli } as unknown as NodeSession),
  };
  return { cli: nodes as unknown as AsteriskNodes, calls, most: () => most };
}

/** The recorded softphone, with aor 1042 loaded (the three aors' listing renamed). */
const recorded = (command: string): string | Error => {
  if (command === 'pjsip show contacts') return cliFixture('pjsip-show-contacts.long-uri.txt');
  if (command === 'pjsip show aors')
    return cliFixture('pjsip-show-aors.three.txt').replace('1000', '1042');
  if (command === 'pjsip show aor 1042') return cliFixture('pjsip-show-aor.long-uri.txt');
  return new Error(`unexpected ${command}`);
};

const cutLine = (aor: string, uri: string): NodeContact => {
  const id = `${aor}/${uri}`.slice(0, 46);
  return {
    node: 'local',
    id,
    aor,
    uri: id.slice(aor.length + 1),
    status: 'NonQual',
    rttMs: null,
    hash: contactHash(uri),
    cut: true,
  };
};

describe('RegistrationReader: the whole URI of a cut contact', () => {
  it('reads it from `pjsip show aor` once, and keeps it for the next listings', async () => {
    const { cli, calls } = stubCli(recorded);
    const reader = new RegistrationReader(cli);
    const first = await reader.snapshot(0);
    expect(first.ok && first.contacts).toEqual([
      expect.objectContaining({ id: `1042/${LONG}`, uri: LONG, cut: false }),
    ]);
    await reader.snapshot(0);
    expect(calls.filter((c) => c.startsWith('pjsip show aor '))).toEqual(['pjsip show aor 1042']);
    expect(calls).toHaveLength(5);
  });

  it('leaves it cut while `pjsip show aor` fails, and asks again with the next listing', async () => {
    let down = true;
    const { cli, calls } = stubCli((command) =>
      down && command.startsWith('pjsip show aor ') ? new Error('boom') : recorded(command),
    );
    const reader = new RegistrationReader(cli);
    const first = await reader.snapshot(0);
    expect(first.ok && first.contacts[0]).toMatchObject({ cut: true, uri: LONG.slice(0, 41) });
    down = false;
    const second = await reader.snapshot(0);
    expect(second.ok && second.contacts[0]).toMatchObject({ cut: false, uri: LONG });
    expect(calls.filter((c) => c === 'pjsip show aor 1042')).toHaveLength(2);
  });

  it('does not ask for a contact of an aor Asterisk has not loaded', async () => {
    const { cli, calls } = stubCli((command) =>
      command === 'pjsip show aors' ? cliFixture('pjsip-show-aors.three.txt') : recorded(command),
    );
    const snapshot = await new RegistrationReader(cli).snapshot(0);
    // The contact is nobody's: left out, and its URI never asked for.
    expect(snapshot.ok && snapshot.contacts).toEqual([]);
    expect(calls.sort()).toEqual(['pjsip show aors', 'pjsip show contacts']);
  });

  it(`asks for at most ${AOR_READS_PER_LISTING} aors per call, a few at a time`, async () => {
    const aors = Array.from({ length: 20 }, (_, i) => String(2000 + i));
    const uriOf = (aor: string) => `sip:${aor}@127.0.0.1:5491;rinstance=8e9a6d3c7e0e2c3f`;
    const { cli, calls, most } = stubCli((command) => {
      const aor = command.split(' ')[3];
      return cliFixture('pjsip-show-aor.long-uri.txt').replace(/1042/g, aor);
    });
    const reader = new RegistrationReader(cli);
    const lines = aors.map((aor) => cutLine(aor, uriOf(aor)));
    const once = await reader.withWholeUris(lines);
    expect(once.filter((c) => !c.cut)).toHaveLength(AOR_READS_PER_LISTING);
    expect(calls).toHaveLength(AOR_READS_PER_LISTING);
    expect(most()).toBeLessThanOrEqual(4);
    const twice = await reader.withWholeUris(lines);
    expect(twice.every((c) => !c.cut && c.uri === uriOf(c.aor))).toBe(true);
    expect(calls).toHaveLength(20);
  });
});
