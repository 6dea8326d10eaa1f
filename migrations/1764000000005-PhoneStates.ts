import { MigrationInterface, QueryRunner } from 'typeorm';

export class PhoneStates1764000000005 implements MigrationInterface {
  name = 'PhoneStates1764000000005';

  public async up(queryRunner: QueryRunner): Promise<void> {
    // The last phone state the portal sent an event for, per user: a process emits a phone.*
    // event only when its conditional upsert changes the row, so two processes seeing the same
    // change emit one event between them. No row: unregistered. Goes with its user.
    await queryRunner.query(`
      CREATE TABLE "phone_state" (
        "user_id" uuid PRIMARY KEY REFERENCES "user" ("id") ON DELETE CASCADE,
        "state" varchar(16) NOT NULL
          CHECK ("state" IN ('registered', 'unreachable', 'unregistered')),
        "contact_uri" varchar(512),
        "changed_at" timestamptz NOT NULL DEFAULT now()
      )`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "phone_state"`);
  }
}
