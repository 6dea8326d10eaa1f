import { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { Injectable } from '@nestjs/common';
import type { PhoneState } from './entities/phone-state.entity';

/** A user whose phone the poller watches. */
export interface WatchedPhone {
  userId: string;
  extension: number;
  /** In the config of the last successful apply: only then is the aor the user's. */
  applied: boolean;
}

/** The phone_state table, and the users it is kept for. */
@Injectable()
export class PhonesRepository {
  constructor(private readonly txHost: TransactionHost<TransactionalAdapterTypeOrm>) {}

  /** Every user with an extension, and whether the last successful apply had it. */
  watched(tenantId: string): Promise<WatchedPhone[]> {
    // `applied` as users.repository.ts computes it (a user created before that apply).
    return this.txHost.tx.query<WatchedPhone[]>(
      `SELECT u.id AS "userId", e.number AS extension,
         COALESCE(u.created_at < (SELECT max(a.started_at) FROM apply_audit_log a
           WHERE a.outcome = 'success'), false) AS applied
       FROM "user" u JOIN extension e ON e.user_id = u.id
       WHERE u.tenant_id = $1`,
      [tenantId],
    );
  }

  /** The last state an event was sent for, per user; a user without one is unregistered. */
  async known(): Promise<Map<string, PhoneState>> {
    const rows = await this.txHost.tx.query<{ user_id: string; state: PhoneState }[]>(
      'SELECT user_id, state FROM phone_state',
    );
    return new Map(rows.map((r) => [r.user_id, r.state]));
  }

  /**
   * Records `state` for the user if it is not the recorded one, in the active transaction;
   * true when this call changed it. The conditional upsert makes two processes that see the
   * same change record it once (the second finds the row changed and updates nothing), and a
   * user deleted since has no row to insert. `previous` is the state this process read (null:
   * no row) and `seenAt` when its listing was taken: a process whose view is older than the
   * recorded change, or based on another state, records nothing, so two processes never flap
   * a phone back and forth.
   */
  async transition(
    userId: string,
    state: PhoneState,
    contactUri: string | null,
    previous: PhoneState | null,
    seenAt: Date,
  ): Promise<boolean> {
    const rows = await this.txHost.tx.query<{ user_id: string }[]>(
      `INSERT INTO phone_state (user_id, state, contact_uri, changed_at)
       SELECT id, $2, $3, now() FROM "user" WHERE id = $1
       ON CONFLICT (user_id) DO UPDATE
         SET state = EXCLUDED.state, contact_uri = EXCLUDED.contact_uri, changed_at = now()
         WHERE phone_state.state IS DISTINCT FROM EXCLUDED.state
           AND phone_state.state IS NOT DISTINCT FROM $4
           AND phone_state.changed_at < $5
       RETURNING user_id`,
      [userId, state, contactUri, previous, seenAt],
    );
    return rows.length > 0;
  }
}
