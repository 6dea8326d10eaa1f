import { MigrationInterface, QueryRunner } from 'typeorm';

export class WebhookRetention1764000000012 implements MigrationInterface {
  name = 'WebhookRetention1764000000012';

  public async up(queryRunner: QueryRunner): Promise<void> {
    // The pruner finds old events by their time, and deleting an event cascades to its
    // deliveries by event_id: without these, each would read the whole table.
    await queryRunner.query(
      `CREATE INDEX "IDX_webhook_event_created" ON "webhook_event" ("created_at")`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_webhook_delivery_event" ON "webhook_delivery" ("event_id")`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "IDX_webhook_delivery_event"`);
    await queryRunner.query(`DROP INDEX "IDX_webhook_event_created"`);
  }
}
