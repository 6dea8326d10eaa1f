import { MigrationInterface, QueryRunner } from 'typeorm';

export class ApplyNodeState1764000000010 implements MigrationInterface {
  name = 'ApplyNodeState1764000000010';

  public async up(queryRunner: QueryRunner): Promise<void> {
    // An apply over several nodes can leave some with the new config and some without.
    await queryRunner.query(
      `ALTER TABLE "apply_audit_log" DROP CONSTRAINT "apply_audit_log_outcome_check"`,
    );
    await queryRunner.query(`
      ALTER TABLE "apply_audit_log" ADD CONSTRAINT "apply_audit_log_outcome_check"
        CHECK ("outcome" IN ('running', 'success', 'partial', 'failed', 'rolled_back'))`);
    // What each node last applied, so a node that missed an apply shows as behind across
    // restarts. One row per node name; a node removed from the nodes file keeps its row.
    await queryRunner.query(`
      CREATE TABLE "apply_node_state" (
        "node" varchar(32) PRIMARY KEY,
        "applied_hash" char(64),
        "applied_apply_id" uuid,
        "applied_at" timestamptz,
        "last_outcome" varchar(16) NOT NULL
          CONSTRAINT "apply_node_state_last_outcome_check"
          CHECK ("last_outcome" IN ('applied', 'unchanged', 'rolled_back', 'failed')),
        "last_apply_id" uuid NOT NULL,
        "last_apply_at" timestamptz NOT NULL
      )`);
    // An installation upgraded from one node: its last successful apply is the local node's.
    await queryRunner.query(`
      INSERT INTO "apply_node_state"
        ("node", "applied_hash", "applied_apply_id", "applied_at", "last_outcome", "last_apply_id", "last_apply_at")
      SELECT 'local', "content_hash", "id", "finished_at", 'applied', "id", "finished_at"
        FROM "apply_audit_log"
       WHERE "outcome" = 'success' AND "finished_at" IS NOT NULL
       ORDER BY "started_at" DESC
       LIMIT 1`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "apply_node_state"`);
    await queryRunner.query(
      `UPDATE "apply_audit_log" SET "outcome" = 'failed' WHERE "outcome" = 'partial'`,
    );
    await queryRunner.query(
      `ALTER TABLE "apply_audit_log" DROP CONSTRAINT "apply_audit_log_outcome_check"`,
    );
    await queryRunner.query(`
      ALTER TABLE "apply_audit_log" ADD CONSTRAINT "apply_audit_log_outcome_check"
        CHECK ("outcome" IN ('running', 'success', 'failed', 'rolled_back'))`);
  }
}
