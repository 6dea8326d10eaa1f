/**
 * Every PostgreSQL advisory-lock key the portal and its migrations use, named once. The values
 * are part of the deployed schema (SQL functions of the migrations lock them) and of running
 * processes, so they never change.
 */

/** Two-key locks (namespace, id) of the portal itself; the apply lock is (APP, APPLY). */
export const APP_LOCK_NAMESPACE = 0x5359;
/** Held for the whole of an apply, on its own session, across every portal process. */
export const APPLY_LOCK_ID = 2;

/**
 * Per-number locks (NUMBER_LOCK_NAMESPACE, number) of claim_free_extension() (migration
 * 1764000000002-AllocateWithNumberLocks): an import locks its numbers under the same keys,
 * so creates skip them and it waits for the ones a create holds.
 */
export const NUMBER_LOCK_NAMESPACE = 21338;

/**
 * The single allocation lock (ALLOCATION_LOCK_NAMESPACE, 1) of the first allocate_user()
 * (migration 1764000000001); replaced by the per-number locks, kept for that migration.
 */
export const ALLOCATION_LOCK_NAMESPACE = 21337;
