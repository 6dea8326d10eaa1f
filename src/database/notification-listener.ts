import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Client, ClientConfig } from 'pg';
import { DataSource } from 'typeorm';
import type { PostgresDataSourceOptions } from 'typeorm/driver/postgres/PostgresDataSourceOptions';

/** How long to wait before connecting again after the connection was lost. */
const RECONNECT_MS = 1000;

export interface Subscription {
  /** Stops listening; the connection closes with the last subscription. */
  close(): Promise<void>;
}

/**
 * LISTEN on a dedicated connection: a pooled one would be handed to other queries, and a
 * notification arrives only on the session that listens. The one place besides SessionLocks
 * that holds a connection of its own. The connection is made again after an error;
 * `onConnect` runs at every (re)connection, so the caller can catch up on what it missed.
 */
@Injectable()
export class NotificationListener implements OnModuleDestroy {
  private readonly logger = new Logger(NotificationListener.name);
  private readonly closers = new Set<() => Promise<void>>();

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  listen(channel: string, onNotify: () => void, onConnect: () => void): Subscription {
    const options = this.db.options as PostgresDataSourceOptions;
    const config: ClientConfig = {
      connectionString: options.url,
      connectionTimeoutMillis: 3000,
      // Without it a dead server is noticed only when the kernel gives up on the socket.
      keepAlive: true,
    };
    let client: Client | null = null;
    let closed = false;
    let timer: NodeJS.Timeout | null = null;
    let failures = 0;

    const retry = (): void => {
      if (closed || timer) return;
      timer = setTimeout(() => {
        timer = null;
        void connect();
      }, RECONNECT_MS);
      timer.unref();
    };

    const connect = async (): Promise<void> => {
      const c = new Client(config);
      client = c;
      c.on('notification', (msg) => {
        if (msg.channel === channel) onNotify();
      });
      c.on('error', (err) => {
        if (client === c) client = null;
        c.end().catch(() => undefined);
        if (!closed) {
          this.logger.warn(`LISTEN ${channel}: connection lost (${err.message}); reconnecting`);
          retry();
        }
      });
      try {
        await c.connect();
        // The identifier is ours (a constant), not input: quoting it is enough.
        await c.query(`LISTEN "${channel.replace(/"/g, '""')}"`);
        if (closed) {
          await c.end();
          return;
        }
        if (failures > 0) this.logger.log(`LISTEN ${channel}: connected again`);
        failures = 0;
        onConnect();
      } catch (err) {
        if (client === c) client = null;
        await c.end().catch(() => undefined);
        if (closed) return;
        // One line per outage, not one per second.
        if (failures++ === 0) {
          this.logger.warn(`LISTEN ${channel}: cannot connect (${String(err)}); retrying`);
        }
        retry();
      }
    };

    const close = async (): Promise<void> => {
      closed = true;
      this.closers.delete(close);
      if (timer) clearTimeout(timer);
      timer = null;
      const c = client;
      client = null;
      await c?.end().catch(() => undefined);
    };
    this.closers.add(close);
    void connect();
    return { close };
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all([...this.closers].map((close) => close()));
  }
}
