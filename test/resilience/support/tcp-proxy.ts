import * as net from 'node:net';

/**
 * How the database looks while cut: `refuse` closes the listening socket (connects fail at
 * once with ECONNREFUSED, like a stopped server); `blackhole` accepts connections and never
 * answers (like a dead host or a partition, where only the client's timeouts help).
 */
export type OutageMode = 'refuse' | 'blackhole';

/**
 * A TCP forwarder on 127.0.0.1 between the portal and PostgreSQL that a test can cut (every
 * open connection reset, new ones refused or swallowed) and resume on the same port.
 */
export class TcpProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  /** Connections accepted during a blackhole outage, never forwarded. */
  private readonly held = new Set<net.Socket>();
  private mode: 'open' | OutageMode = 'open';
  port = 0;
  /** Connections forwarded, and those reset or swallowed by outages. */
  readonly stats = { forwarded: 0, reset: 0, swallowed: 0 };

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<number> {
    await this.listen(0);
    return this.port;
  }

  get state(): 'open' | OutageMode {
    return this.mode;
  }

  async cut(mode: OutageMode): Promise<void> {
    this.mode = mode;
    // Reset first: server.close() only calls back once every connection has ended.
    this.resetAll();
    if (mode === 'refuse') await this.closeListener();
    else if (!this.server) await this.listen(this.port);
  }

  async resume(): Promise<void> {
    // Swallowed connections are dropped so their clients fail now rather than at a timeout.
    for (const socket of this.held) this.reset(socket);
    this.held.clear();
    this.mode = 'open';
    if (!this.server) await this.listen(this.port);
  }

  async close(): Promise<void> {
    this.mode = 'refuse';
    this.resetAll();
    await this.closeListener();
  }

  private resetAll(): void {
    for (const socket of [...this.sockets, ...this.held]) this.reset(socket);
    this.sockets.clear();
    this.held.clear();
  }

  private reset(socket: net.Socket): void {
    this.stats.reset++;
    // An RST rather than a FIN: the peer sees the connection die, not end politely.
    if (!socket.destroyed) socket.resetAndDestroy();
  }

  private listen(port: number): Promise<void> {
    const server = net.createServer((client) => this.accept(client));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        this.server = server;
        this.port = (server.address() as net.AddressInfo).port;
        resolve();
      });
    });
  }

  private closeListener(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    client.on('error', () => undefined);
    if (this.mode !== 'open') {
      this.stats.swallowed++;
      this.held.add(client);
      client.once('close', () => this.held.delete(client));
      client.pause();
      return;
    }
    this.stats.forwarded++;
    this.sockets.add(client);
    client.once('close', () => this.sockets.delete(client));
    const upstream = net.connect(this.target);
    upstream.on('error', () => undefined);
    this.sockets.add(upstream);
    upstream.once('close', () => {
      this.sockets.delete(upstream);
      if (!client.destroyed) client.destroy();
    });
    client.once('close', () => {
      if (!upstream.destroyed) upstream.destroy();
    });
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
