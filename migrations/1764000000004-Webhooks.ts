import { MigrationInterface, QueryRunner } from 'typeorm';

export class Webhooks1764000000004 implements MigrationInterface {
  name = 'Webhooks1764000000004';

  public async up(queryRunner: QueryRunner): Promise<void> {
    // The secret is kept as it is: signing needs it. The previous one signs too until
    // previous_secret_expires_at, so receivers can switch without losing a delivery.
    await queryRunner.query(`
      CREATE TABLE "webhook_subscription" (
        "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "tenant_id" uuid NOT NULL REFERENCES "tenant" ("id") ON DELETE RESTRICT,
        "url" varchar(2048) NOT NULL,
        "events" text[] NOT NULL,
        "description" varchar(500),
        "enabled" boolean NOT NULL DEFAULT true,
        "disabled_reason" varchar(500),
        "secret" varchar(64) NOT NULL,
        "previous_secret" varchar(64),
        "previous_secret_expires_at" timestamptz,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now()
      )`);
    // The outbox: one row per event, written in the transaction of the change it reports.
    await queryRunner.query(`
      CREATE TABLE "webhook_event" (
        "id" uuid PRIMARY KEY,
        "tenant_id" uuid NOT NULL REFERENCES "tenant" ("id") ON DELETE RESTRICT,
        "type" varchar(64) NOT NULL,
        "data" jsonb NOT NULL,
        "created_at" timestamptz NOT NULL
      )`);
    // One row per event and subscription; deleting a subscription deletes its pending ones.
    await queryRunner.query(`
      CREATE TABLE "webhook_delivery" (
        "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "subscription_id" uuid NOT NULL REFERENCES "webhook_subscription" ("id") ON DELETE CASCADE,
        "event_id" uuid NOT NULL REFERENCES "webhook_event" ("id") ON DELETE CASCADE,
        "status" varchar(16) NOT NULL DEFAULT 'pending'
          CHECK ("status" IN ('pending', 'delivered', 'failed')),
        "attempts" integer NOT NULL DEFAULT 0,
        "next_attempt_at" timestamptz,
        "locked_until" timestamptz,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "delivered_at" timestamptz,
        CONSTRAINT "webhook_delivery_subscription_id_event_id_key" UNIQUE ("subscription_id", "event_id")
      )`);
    // The worker's claim reads only pending rows, by when they are due.
    await queryRunner.query(
      `CREATE INDEX "IDX_webhook_delivery_due" ON "webhook_delivery" ("next_attempt_at")
       WHERE "status" = 'pending'`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_webhook_delivery_subscription" ON "webhook_delivery" ("subscription_id", "created_at" DESC)`,
    );
    await queryRunner.query(`
      CREATE TABLE "webhook_attempt" (
        "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "delivery_id" uuid NOT NULL REFERENCES "webhook_delivery" ("id") ON DELETE CASCADE,
        "attempt" integer NOT NULL,
        "at" timestamptz NOT NULL,
        "http_status" integer,
        "error" varchar(500),
        "duration_ms" integer NOT NULL,
        "next_attempt_at" timestamptz
      )`);
    await queryRunner.query(
      `CREATE INDEX "IDX_webhook_attempt_delivery" ON "webhook_attempt" ("delivery_id")`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "webhook_attempt"`);
    await queryRunner.query(`DROP TABLE "webhook_delivery"`);
    await queryRunner.query(`DROP TABLE "webhook_event"`);
    await queryRunner.query(`DROP TABLE "webhook_subscription"`);
  }
}
