import { Injectable, Logger } from '@nestjs/common';
import type { Actor } from '../common/access/request-context';
import { hashApiKey, KEY_PATTERN } from './api-key-secret';
import { ApiKeysRepository } from './api-keys.repository';

/** lastUsedAt is written at most this often per key and process, not on every request. */
const TOUCH_EVERY_MS = 60_000;

/** Tells which live API key a bearer value is. */
@Injectable()
export class ApiKeyVerifier {
  private readonly logger = new Logger(ApiKeyVerifier.name);
  /** When this process last wrote each key's lastUsedAt. */
  private readonly touched = new Map<string, number>();

  constructor(private readonly keys: ApiKeysRepository) {}

  /**
   * The key's actor, or null when `candidate` is no live key. Looked up by its SHA-256 on
   * every request, with no cache, so a revoke holds in every process at once. Nothing secret
   * is compared here: the database finds the hash through its unique index, and the hash of
   * a guess tells nothing about a key.
   */
  async verify(candidate: string): Promise<Actor | null> {
    if (!KEY_PATTERN.test(candidate)) return null;
    const key = await this.keys.findActiveByHash(hashApiKey(candidate));
    if (!key) return null;
    this.touch(key.id);
    return { type: 'key', id: key.id, name: key.name, scopes: key.scopes };
  }

  private touch(id: string): void {
    const now = Date.now();
    if (now - (this.touched.get(id) ?? 0) < TOUCH_EVERY_MS) return;
    this.touched.set(id, now);
    // Off the request's path: a failed write only leaves lastUsedAt a minute older.
    void this.keys.touch(id, new Date(now)).catch((err: unknown) => {
      this.touched.delete(id);
      this.logger.warn(`Could not record the use of API key ${id}: ${String(err)}`);
    });
  }
}
