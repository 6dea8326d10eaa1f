/** Every action the change audit records; `GET /audit?action=` takes one of these. */
export const AUDIT_ACTIONS = [
  'user.create',
  'user.update',
  'user.delete',
  'user.rotate_password',
  'user.import',
  'apply.run',
  'key.create',
  'key.revoke',
  'webhook.create',
  'webhook.update',
  'webhook.delete',
  'webhook.rotate_secret',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];
