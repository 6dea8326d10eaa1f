import { MigrationInterface, QueryRunner } from 'typeorm';
import { ALLOCATION_LOCK_NAMESPACE } from '../src/database/advisory-locks';

/**
 * Allocation in one statement: the advisory lock, the lowest-free search and both inserts
 * run inside the database, so the lock is held for microseconds instead of several network
 * round trips. Each statement of a VOLATILE plpgsql function takes a fresh snapshot, so the
 * search after the lock sees every allocation committed before it.
 *
 * The SIP digests depend on the number, which is only known under the lock; the caller
 * passes digests for a few candidate numbers (the lowest free ones it saw). When the number
 * found is not among them, nothing is inserted and the number is returned alone, so the
 * caller can compute its digests and call again. No password ever reaches the database.
 */
export class AllocateUserFunction1764000000001 implements MigrationInterface {
  name = 'AllocateUserFunction1764000000001';

  public async up(queryRunner: QueryRunner): Promise<void> {
    // One ordered pass over the used numbers: the first one whose successor is free. The
    // portal also calls it without the lock, to guess candidates.
    await queryRunner.query(`
      CREATE FUNCTION lowest_free_extension(p_min integer, p_max integer) RETURNS integer
      LANGUAGE sql STABLE AS $fn$
        SELECT CASE
                 WHEN NOT EXISTS (SELECT 1 FROM extension x WHERE x.number = p_min) THEN p_min
                 ELSE (SELECT t.number + 1
                       FROM (SELECT x.number, lead(x.number) OVER (ORDER BY x.number) AS nxt
                             FROM extension x WHERE x.number BETWEEN p_min AND p_max) t
                       WHERE t.number < p_max AND (t.nxt IS NULL OR t.nxt > t.number + 1)
                       ORDER BY t.number LIMIT 1)
               END
      $fn$`);
    await queryRunner.query(ALLOCATE_USER_V1);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `DROP FUNCTION allocate_user(uuid, varchar, varchar, integer, integer, varchar, integer[], text[], text[])`,
    );
    await queryRunner.query(`DROP FUNCTION lowest_free_extension(integer, integer)`);
  }
}

/** This version of allocate_user(); a later migration's down() restores it. */
export const ALLOCATE_USER_V1 = `
      CREATE FUNCTION allocate_user(
        p_tenant uuid, p_name varchar, p_email varchar, p_min integer, p_max integer,
        p_realm varchar, p_candidates integer[], p_md5 text[], p_sha256 text[]
      ) RETURNS TABLE (
        id uuid, name varchar, email varchar, created_at timestamptz,
        extension integer, sip_username varchar
      )
      LANGUAGE plpgsql VOLATILE AS $fn$
      DECLARE
        n integer;
        i integer;
      BEGIN
        PERFORM pg_advisory_xact_lock(${ALLOCATION_LOCK_NAMESPACE}, 1);
        n := lowest_free_extension(p_min, p_max);
        IF n IS NULL THEN
          RAISE EXCEPTION 'no free extension from % to %', p_min, p_max USING ERRCODE = 'SC001';
        END IF;
        i := array_position(p_candidates, n);
        IF i IS NULL THEN
          RETURN QUERY SELECT NULL::uuid, NULL::varchar, NULL::varchar, NULL::timestamptz, n, NULL::varchar;
          RETURN;
        END IF;
        RETURN QUERY
          WITH u AS (
            INSERT INTO "user" (tenant_id, name, email) VALUES (p_tenant, p_name, p_email)
            RETURNING "user".id, "user".name, "user".email, "user".created_at
          ), e AS (
            INSERT INTO extension (number, tenant_id, user_id, sip_username, realm, md5_digest, sha256_digest)
            SELECT n, p_tenant, u.id, n::text, p_realm, p_md5[i], p_sha256[i] FROM u
            RETURNING extension.number, extension.sip_username
          )
          SELECT u.id, u.name, u.email, u.created_at, e.number, e.sip_username FROM u, e;
      END
      $fn$`;
