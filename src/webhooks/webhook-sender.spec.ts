import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseNetworks } from './address-rules';
import { WebhookSender } from './webhook-sender';

/** Real sockets on loopback, which these tests allow; nothing leaves the machine. */
describe('WebhookSender', () => {
  const allowed = parseNetworks(['127.0.0.1/32']);
  const signal = new AbortController().signal;
  let sender: WebhookSender;
  const closers: (() => void)[] = [];

  beforeEach(() => {
    sender = new WebhookSender(allowed, 4);
  });
  afterEach(() => {
    sender.close();
    for (const close of closers.splice(0)) close();
  });

  const listen = async (server: net.Server): Promise<number> => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => server.close());
    return (server.address() as AddressInfo).port;
  };
  const send = (port: number, path = '/hook') =>
    sender.send(
      { url: `http://127.0.0.1:${port}${path}`, body: '{}', headers: { 'webhook-id': 'msg_1' } },
      signal,
    );

  it('keeps the connection between deliveries to the same address', async () => {
    let connections = 0;
    const server = http.createServer((_req, res) => res.writeHead(204).end());
    server.on('connection', () => (connections += 1));
    closers.push(() => server.closeAllConnections());
    const port = await listen(server);
    for (let i = 0; i < 5; i++) expect(await send(port)).toEqual({ status: 204 });
    expect(connections).toBe(1);
  });

  it('sends again on a new connection when the receiver drops a kept one as it is reused', async () => {
    // Answers the first request of each connection and drops the connection at the second,
    // as a receiver closing an idle connection at the moment it is reused would.
    let requests = 0;
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      let seen = 0;
      socket.on('data', (chunk) => {
        if (!chunk.toString('latin1').includes('\r\n\r\n{}')) return;
        requests += 1;
        seen += 1;
        if (seen === 1) {
          socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n');
        } else {
          socket.resetAndDestroy();
        }
      });
    });
    closers.push(() => sockets.forEach((s) => s.destroy()));
    const port = await listen(server);
    expect(await send(port)).toEqual({ status: 200 });
    expect(await send(port)).toEqual({ status: 200 });
    expect(requests).toBe(3);
  });

  it('a response body that never ends is cut at the time limit and frees its connection', async () => {
    const slow = new WebhookSender(allowed, 1, 2_000);
    let requests = 0;
    const server = http.createServer((_req, res) => {
      requests += 1;
      res.writeHead(200, { 'content-type': 'text/plain' });
      if (requests === 1) res.write('streaming, never ended');
      else res.end();
    });
    closers.push(() => server.closeAllConnections());
    const port = await listen(server);
    const url = `http://127.0.0.1:${port}/hook`;
    const sendSlow = () => slow.send({ url, body: '{}', headers: {} }, signal);
    try {
      expect(await sendSlow()).toEqual({ status: 200 });
      await sleep(1_000);
      // One connection allowed: the second waits for the first's to be cut (2 s after it was
      // sent, within the second's own limit), not for ever.
      expect(await sendSlow()).toEqual({ status: 200 });
      expect(requests).toBe(2);
    } finally {
      slow.close();
    }
  });

  it('sends nothing once the portal is stopping', async () => {
    let connections = 0;
    const server = http.createServer((_req, res) => res.writeHead(204).end());
    server.on('connection', () => (connections += 1));
    const port = await listen(server);
    const stopped = new AbortController();
    stopped.abort();
    const result = await sender.send(
      { url: `http://127.0.0.1:${port}/hook`, body: '{}', headers: {} },
      stopped.signal,
    );
    expect(result).toEqual({ error: 'the portal stopped before the delivery' });
    expect(connections).toBe(0);
  });

  it('does not send to an address outside the allowed networks, nor connect', async () => {
    const strict = new WebhookSender(parseNetworks([]), 4);
    let connections = 0;
    const server = http.createServer((_req, res) => res.writeHead(204).end());
    server.on('connection', () => (connections += 1));
    const port = await listen(server);
    const result = await strict.send(
      { url: `http://127.0.0.1:${port}/hook`, body: '{}', headers: {} },
      signal,
    );
    strict.close();
    expect(result).toEqual({ error: expect.stringMatching(/^refused: .*loopback/) });
    expect(connections).toBe(0);
  });
});
