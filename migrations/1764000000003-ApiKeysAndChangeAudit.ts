import { MigrationInterface, QueryRunner } from 'typeorm';

export class ApiKeysAndChangeAudit1764000000003 implements MigrationInterface {
  name = 'ApiKeysAndChangeAudit1764000000003';

  public async up(queryRunner: QueryRunner): Promise<void> {
    // Only the SHA-256 of a key is kept; `prefix` repeats its first visible characters so an
    // operator can tell which key a leaked string is.
    await queryRunner.query(`
      CREATE TABLE "api_key" (
        "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "tenant_id" uuid NOT NULL REFERENCES "tenant" ("id") ON DELETE RESTRICT,
        "name" varchar(100) NOT NULL,
        "scopes" text[] NOT NULL,
        "prefix" varchar(8) NOT NULL,
        "key_hash" char(64) NOT NULL UNIQUE CHECK ("key_hash" ~ '^[0-9a-f]{64}$'),
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "last_used_at" timestamptz,
        "revoked_at" timestamptz
      )`);
    // Append-only for the API: rows are inserted in the transaction of the change they record.
    await queryRunner.query(`
      CREATE TABLE "change_audit" (
        "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "tenant_id" uuid NOT NULL REFERENCES "tenant" ("id") ON DELETE RESTRICT,
        "at" timestamptz NOT NULL DEFAULT now(),
        "actor_type" varchar(16) NOT NULL CHECK ("actor_type" IN ('key', 'bootstrap')),
        "actor_id" uuid,
        "actor_name" varchar(100) NOT NULL,
        "action" varchar(64) NOT NULL,
        "target_type" varchar(32) NOT NULL,
        "target_id" uuid,
        "changes" jsonb NOT NULL,
        "request_id" varchar(128),
        "client_address" varchar(64)
      )`);
    await queryRunner.query(
      `CREATE INDEX "IDX_change_audit_at" ON "change_audit" ("at" DESC, "id" DESC)`,
    );
    await queryRunner.query(`
      ALTER TABLE "apply_audit_log"
        ADD COLUMN "actor_type" varchar(16) CHECK ("actor_type" IN ('key', 'bootstrap')),
        ADD COLUMN "actor_id" uuid,
        ADD COLUMN "actor_name" varchar(100)`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE "apply_audit_log"
        DROP COLUMN "actor_type", DROP COLUMN "actor_id", DROP COLUMN "actor_name"`);
    await queryRunner.query(`DROP TABLE "change_audit"`);
    await queryRunner.query(`DROP TABLE "api_key"`);
  }
}
