import { MigrationInterface, QueryRunner } from 'typeorm';

export class Initial1764000000000 implements MigrationInterface {
  name = 'Initial1764000000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "tenant" (
        "id" uuid PRIMARY KEY,
        "name" varchar(100) NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      `INSERT INTO "tenant" ("id", "name") VALUES ('00000000-0000-4000-8000-000000000001', 'default')`,
    );
    await queryRunner.query(`
      CREATE TABLE "user" (
        "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "tenant_id" uuid NOT NULL REFERENCES "tenant" ("id") ON DELETE RESTRICT,
        "name" varchar(100) NOT NULL,
        "email" varchar(254) NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now()
      )`);
    // Case-insensitive uniqueness is enforced by the database, so racing creates cannot both win.
    await queryRunner.query(
      `CREATE UNIQUE INDEX "UQ_user_tenant_email" ON "user" ("tenant_id", lower("email"))`,
    );
    // Extension numbers are one namespace in Asterisk, so the number itself is the key.
    await queryRunner.query(`
      CREATE TABLE "extension" (
        "number" integer PRIMARY KEY CHECK ("number" BETWEEN 1 AND 99999),
        "tenant_id" uuid NOT NULL REFERENCES "tenant" ("id") ON DELETE RESTRICT,
        "user_id" uuid NOT NULL UNIQUE REFERENCES "user" ("id") ON DELETE CASCADE,
        "sip_username" varchar(32) NOT NULL,
        "realm" varchar(64) NOT NULL,
        "md5_digest" char(32) NOT NULL CHECK ("md5_digest" ~ '^[0-9a-f]{32}$'),
        "sha256_digest" char(64) NOT NULL CHECK ("sha256_digest" ~ '^[0-9a-f]{64}$'),
        "created_at" timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`
      CREATE TABLE "apply_audit_log" (
        "id" uuid PRIMARY KEY,
        "started_at" timestamptz NOT NULL,
        "finished_at" timestamptz,
        "outcome" varchar(16) NOT NULL
          CHECK ("outcome" IN ('running', 'success', 'failed', 'rolled_back')),
        "user_count" integer NOT NULL,
        "content_hash" char(64),
        "duration_ms" integer,
        "summary" text NOT NULL,
        "request_id" varchar(128)
      )`);
    await queryRunner.query(
      `CREATE INDEX "IDX_apply_audit_log_started_at" ON "apply_audit_log" ("started_at" DESC)`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "apply_audit_log"`);
    await queryRunner.query(`DROP TABLE "extension"`);
    await queryRunner.query(`DROP TABLE "user"`);
    await queryRunner.query(`DROP TABLE "tenant"`);
  }
}
