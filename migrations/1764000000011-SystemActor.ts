import { MigrationInterface, QueryRunner } from 'typeorm';

export class SystemActor1764000000011 implements MigrationInterface {
  name = 'SystemActor1764000000011';

  public async up(queryRunner: QueryRunner): Promise<void> {
    // The portal itself changes a subscription (a receiver's 410 Gone disables it): audited as
    // the actor `system`, so every subscription change is in the trail like any other.
    await queryRunner.query(
      `ALTER TABLE "change_audit" DROP CONSTRAINT "change_audit_actor_type_check"`,
    );
    await queryRunner.query(`
      ALTER TABLE "change_audit" ADD CONSTRAINT "change_audit_actor_type_check"
        CHECK ("actor_type" IN ('key', 'bootstrap', 'system'))`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DELETE FROM "change_audit" WHERE "actor_type" = 'system'`);
    await queryRunner.query(
      `ALTER TABLE "change_audit" DROP CONSTRAINT "change_audit_actor_type_check"`,
    );
    await queryRunner.query(`
      ALTER TABLE "change_audit" ADD CONSTRAINT "change_audit_actor_type_check"
        CHECK ("actor_type" IN ('key', 'bootstrap'))`);
  }
}
