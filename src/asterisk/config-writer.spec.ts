import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { renameSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AsteriskNodeConfig } from '../config/asterisk-nodes';
import { CliProcessRunner } from './cli/cli-process-runner';
import { ConfigWriter } from './config-writer';
import { LocalConnection } from './nodes/local-connection';

const ENV_NAMES = {
  pjsipDir: 'ASTERISK_PJSIP_DIR',
  dialplanDir: 'ASTERISK_DIALPLAN_DIR',
  fileGroup: 'ASTERISK_FILE_GROUP',
} as const;

function localWriter(pjsipDir: string, dialplanDir: string): ConfigWriter {
  const node: AsteriskNodeConfig = {
    name: 'local',
    transport: 'local',
    pjsipDir,
    dialplanDir,
    cli: ['asterisk'],
    fileMode: 0o640,
    fileGroup: undefined,
  };
  return new ConfigWriter(
    node,
    new LocalConnection(node, new CliProcessRunner()),
    (f) => ENV_NAMES[f],
  );
}

describe('ConfigWriter', () => {
  let root: string;
  let pjsipDir: string;
  let writer: ConfigWriter;
  let endpoints: string;
  let lastGood: string;

  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'config-writer-'));
    pjsipDir = path.join(root, 'pjsip');
    const dialplanDir = path.join(root, 'dialplan');
    mkdirSync(pjsipDir);
    mkdirSync(dialplanDir);
    writer = localWriter(pjsipDir, dialplanDir);
    endpoints = writer.pathOf('endpoints');
    lastGood = path.join(pjsipDir, '.synergycall-last-good.json');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('sees an in-place edit of the same size after a read and after its own write', async () => {
    writeFileSync(endpoints, 'AAAA');
    expect(await writer.read('endpoints')).toBe('AAAA');
    await sleep(20); // a later clock tick, as any edit by a person or a tool
    writeFileSync(endpoints, 'BBBB');
    expect(await writer.read('endpoints')).toBe('BBBB');

    await writer.write('endpoints', 'CCCC');
    expect(await writer.read('endpoints')).toBe('CCCC');
    await sleep(20);
    writeFileSync(endpoints, 'DDDD');
    expect(await writer.read('endpoints')).toBe('DDDD');
  });

  it('sees a replacement with the same size and the same mtime (a new inode)', async () => {
    await writer.write('endpoints', 'one');
    expect(await writer.read('endpoints')).toBe('one');
    const { mtime } = statSync(endpoints);
    const other = path.join(pjsipDir, 'other');
    writeFileSync(other, 'two');
    utimesSync(other, mtime, mtime);
    renameSync(other, endpoints);
    expect(await writer.read('endpoints')).toBe('two');
  });

  it('sees a removed file as absent, and a recreated one again', async () => {
    await writer.write('endpoints', 'here');
    unlinkSync(endpoints);
    expect(await writer.read('endpoints')).toBeNull();
    writeFileSync(endpoints, 'back');
    expect(await writer.read('endpoints')).toBe('back');
  });

  it('keeps the last good pair in one file with the generated files mode, no temp left', async () => {
    await writer.saveLastGood({ endpoints: 'old-e', routing: 'old-r' });
    await writer.saveLastGood({ endpoints: 'new-e', routing: 'new-r' });
    expect(await writer.readLastGood()).toEqual({ endpoints: 'new-e', routing: 'new-r' });
    expect(readdirSync(pjsipDir).sort()).toEqual(['.synergycall-last-good.json']);
    expect(statSync(lastGood).mode & 0o777).toBe(0o640);
  });

  it('keeps "no such file" in the last good pair, and restores it by removing the file', async () => {
    await writer.saveLastGood({ endpoints: null, routing: 'r' });
    expect(await writer.readLastGood()).toEqual({ endpoints: null, routing: 'r' });
    await writer.write('endpoints', 'new');
    await writer.restore('endpoints', null);
    expect(await writer.read('endpoints')).toBeNull();
    await writer.restore('endpoints', null); // already gone: still fine
    await writer.restore('endpoints', 'back');
    expect(readFileSync(endpoints, 'utf8')).toBe('back');
    await writer.removeLastGood();
    expect(await writer.readLastGood()).toBeNull();
  });

  it('names a missing directory with its variable and the README section', async () => {
    rmSync(pjsipDir, { recursive: true });
    expect(await writer.directoryProblem('endpoints')).toBe(
      `ASTERISK_PJSIP_DIR ${pjsipDir} does not exist; create it (docs/asterisk.md, "Include directories")`,
    );
    expect(await writer.directoryProblem('routing')).toBeNull();
    await expect(writer.checkDirectories()).rejects.toThrow(/ASTERISK_PJSIP_DIR/);
  });

  it('treats an unreadable last good file as absent', async () => {
    writeFileSync(lastGood, '{"endpoints":');
    expect(await writer.readLastGood()).toBeNull();
    writeFileSync(lastGood, '{"endpoints":"e"}');
    expect(await writer.readLastGood()).toBeNull();
  });

  it('a failed write names the file, leaves no temp file and keeps the old content', async () => {
    await writer.write('endpoints', 'good');
    mkdirSync(path.join(pjsipDir, 'generated_routing.conf')); // a directory where a file goes
    const clash = localWriter(pjsipDir, pjsipDir);
    await expect(clash.write('routing', 'new')).rejects.toThrow(
      /Could not write .*generated_routing\.conf: EISDIR/,
    );
    expect(readdirSync(pjsipDir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect(readFileSync(endpoints, 'utf8')).toBe('good');
  });
});
