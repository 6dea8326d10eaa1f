import * as net from 'node:net';
import { assertCanListen, listenProblem, type PortSetting, urlHost } from './ports';
import { StartupError } from './startup-error';

const setting = (port: number): PortSetting => ({
  host: '127.0.0.1',
  port,
  variable: 'PORT',
  hostVariable: 'HOST',
  what: 'the portal',
});

describe('assertCanListen', () => {
  let taken: net.Server;
  let port: number;
  beforeEach(async () => {
    taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    port = (taken.address() as net.AddressInfo).port;
  });
  afterEach(() => new Promise<void>((resolve) => taken.close(() => resolve())));

  it('says in one line that the port is taken, naming it and its variable', async () => {
    const err = await assertCanListen(setting(port)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StartupError);
    expect((err as Error).message).toBe(
      `Port ${port} on 127.0.0.1 is already in use, so the portal cannot listen there (PORT); stop what listens on 127.0.0.1:${port} or set PORT to a free port`,
    );
  });

  it('leaves a free port free', async () => {
    await new Promise<void>((resolve) => taken.close(() => resolve()));
    await assertCanListen(setting(port));
    await assertCanListen(setting(port));
    taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve));
  });

  it('names HOST for an address that is not this machine', async () => {
    const err = await assertCanListen({ ...setting(0), host: '192.0.2.1' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as Error).message).toMatch(
      /^192\.0\.2\.1 is not an address of this machine, .*\(HOST\)/,
    );
  });
});

describe('listenProblem', () => {
  const errno = (code: string) => Object.assign(new Error(code), { code });

  it('has one line for each address problem, and none for other errors', () => {
    const db: PortSetting = {
      host: '127.0.0.1',
      port: 80,
      variable: 'EMBEDDED_DB_PORT',
      what: 'the embedded PostgreSQL',
    };
    expect(listenProblem(errno('EACCES'), db)?.message).toMatch(
      /^Port 80 on 127\.0\.0\.1 needs privileges .*\(EMBEDDED_DB_PORT\); set EMBEDDED_DB_PORT to 1024 or above$/,
    );
    expect(
      listenProblem(errno('ENOTFOUND'), { ...setting(3000), host: 'nowhere.invalid' })?.message,
    ).toMatch(/^nowhere\.invalid does not resolve .*\(HOST\)/);
    expect(listenProblem(errno('EMFILE'), setting(3000))).toBeUndefined();
    expect(listenProblem(new Error('x'), setting(3000))).toBeUndefined();
  });

  it('writes an IPv6 host in brackets', () => {
    expect(urlHost('::', 3000)).toBe('[::]:3000');
    expect(urlHost('0.0.0.0', 3000)).toBe('0.0.0.0:3000');
  });
});
