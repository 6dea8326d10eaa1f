import { MigrationInterface, QueryRunner } from 'typeorm';

export class WebhookRetention1764000000012 implements MigrationInterface {
  name = 'WebhookRetention1764000000012';

  public async up(queryRunner: QueryRunner): Promise<void> {
    // The pruner finds old events by their time.
    await queryRunner.query(
      `CREATE INDEX "IDX_webhook_event_created" ON "webhook_event" ("created_at")`,
    );
    // The pruner finds an old event's deliveries, and whether it has any left, by event_id
    // (as does the cascade from an event): the one-per-event-and-subscription constraint, with
    // event_id first, answers that without a second index to keep up on every insert.
    await queryRunner.query(`
      ALTER TABLE "webhook_delivery"
        DROP CONSTRAINT "webhook_delivery_subscription_id_event_id_key",
        ADD CONSTRAINT "webhook_delivery_event_id_subscription_id_key"
          UNIQUE ("event_id", "subscription_id")`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE "webhook_delivery"
        DROP CONSTRAINT "webhook_delivery_event_id_subscription_id_key",
        ADD CONSTRAINT "webhook_delivery_subscription_id_event_id_key"
          UNIQUE ("subscription_id", "event_id")`);
    await queryRunner.query(`DROP INDEX "IDX_webhook_event_created"`);
  }
}
