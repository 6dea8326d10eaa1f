import { MigrationInterface, QueryRunner } from 'typeorm';
import { NUMBER_LOCK_NAMESPACE } from '../src/database/advisory-locks';
import { ALLOCATE_USER_V1 } from './1764000000001-AllocateUserFunction';

/**
 * Allocation without the one allocation lock. That lock was held until commit, so the
 * commits of concurrent creates (each a WAL flush) ran one after another. Now a create locks
 * only the number it takes, with a transaction-scoped try-lock, and skips numbers other
 * creates hold: concurrent creates take consecutive numbers and commit together.
 *
 * A lock is released only after its commit is visible, so a create that gets the lock on a
 * number and then looks again (a fresh snapshot per statement) sees a finished insert. A
 * number skipped because its create later failed stays free for the next create.
 *
 * allocate_user() keeps its signature and answer. The portal's fallback, for when the number
 * is not among its candidates, claims a number in its own transaction and then inserts it.
 */
export class AllocateWithNumberLocks1764000000002 implements MigrationInterface {
  name = 'AllocateWithNumberLocks1764000000002';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE FUNCTION claim_free_extension(p_min integer, p_max integer) RETURNS integer
      LANGUAGE plpgsql VOLATILE AS $fn$
      DECLARE
        c integer := lowest_free_extension(p_min, p_max);
      BEGIN
        -- Upwards from the lowest free number, by primary-key probes: past the numbers racing
        -- creates hold and the taken ones after them. Only a number seen free is locked, so
        -- a create holds one lock, rarely two.
        WHILE c IS NOT NULL AND c <= p_max LOOP
          IF NOT EXISTS (SELECT 1 FROM extension x WHERE x.number = c) THEN
            IF pg_try_advisory_xact_lock(${NUMBER_LOCK_NAMESPACE}, c) THEN
              -- Look again under the lock, in a new statement and so a new snapshot: an
              -- insert that committed since the look above is seen now.
              IF NOT EXISTS (SELECT 1 FROM extension x WHERE x.number = c) THEN
                RETURN c;
              END IF;
            END IF;
          END IF;
          c := c + 1;
        END LOOP;
        RETURN NULL;
      END
      $fn$`);
    await queryRunner.query(`
      CREATE FUNCTION insert_user_with_extension(
        p_tenant uuid, p_name varchar, p_email varchar, p_number integer, p_realm varchar,
        p_md5 text, p_sha256 text
      ) RETURNS TABLE (
        id uuid, name varchar, email varchar, created_at timestamptz,
        extension integer, sip_username varchar
      )
      LANGUAGE sql VOLATILE AS $fn$
        WITH u AS (
          INSERT INTO "user" (tenant_id, name, email) VALUES (p_tenant, p_name, p_email)
          RETURNING "user".id, "user".name, "user".email, "user".created_at
        ), e AS (
          INSERT INTO extension (number, tenant_id, user_id, sip_username, realm, md5_digest, sha256_digest)
          SELECT p_number, p_tenant, u.id, p_number::text, p_realm, p_md5, p_sha256 FROM u
          RETURNING extension.number, extension.sip_username
        )
        SELECT u.id, u.name, u.email, u.created_at, e.number, e.sip_username FROM u, e
      $fn$`);
    await queryRunner.query(ALLOCATE_USER_V2);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `DROP FUNCTION allocate_user(uuid, varchar, varchar, integer, integer, varchar, integer[], text[], text[])`,
    );
    await queryRunner.query(ALLOCATE_USER_V1);
    await queryRunner.query(
      `DROP FUNCTION insert_user_with_extension(uuid, varchar, varchar, integer, varchar, text, text)`,
    );
    await queryRunner.query(`DROP FUNCTION claim_free_extension(integer, integer)`);
  }
}

/** Same signature and answer as before; the search is claim_free_extension(). */
const ALLOCATE_USER_V2 = `
      CREATE OR REPLACE FUNCTION allocate_user(
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
        n := claim_free_extension(p_min, p_max);
        IF n IS NULL THEN
          RAISE EXCEPTION 'no free extension from % to %', p_min, p_max USING ERRCODE = 'SC001';
        END IF;
        i := array_position(p_candidates, n);
        IF i IS NULL THEN
          RETURN QUERY SELECT NULL::uuid, NULL::varchar, NULL::varchar, NULL::timestamptz, n, NULL::varchar;
          RETURN;
        END IF;
        RETURN QUERY
          SELECT * FROM insert_user_with_extension(p_tenant, p_name, p_email, n, p_realm, p_md5[i], p_sha256[i]);
      END
      $fn$`;
