import type { UserWithExtension } from '../extensions/extensions.repository';
import type { UserEventData } from '../webhooks/webhook-event-types';
import { CreatedUserDto, UserDto } from './dto/user-response.dto';

export function toUserDto(row: UserWithExtension): UserDto {
  return {
    id: row.id,
    name: row.name,
    email: row.email,
    extension: row.extension,
    sipUsername: row.sipUsername,
    createdAt: row.createdAt.toISOString(),
  };
}

export function toCreatedUserDto(row: UserWithExtension, sipPassword: string): CreatedUserDto {
  return { ...toUserDto(row), sipPassword };
}

/** The fields of a user the change audit records: everything but its SIP secrets. */
export function toAuditedUser(row: {
  name: string;
  email: string;
  extension: number | null;
}): Record<string, unknown> {
  return { name: row.name, email: row.email, extension: row.extension };
}

/** Before and after of only the audited fields that differ; null when none does. */
export function changedFields(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
): { before: Record<string, unknown>; after: Record<string, unknown> } | null {
  const changed = Object.keys(after).filter((k) => before[k] !== after[k]);
  if (changed.length === 0) return null;
  return {
    before: Object.fromEntries(changed.map((k) => [k, before[k]])),
    after: Object.fromEntries(changed.map((k) => [k, after[k]])),
  };
}

/** A user as its events name it: never a SIP password or digest. */
export function toUserEvent(row: {
  id: string;
  name: string;
  email: string;
  extension: number | null;
}): UserEventData {
  return { userId: row.id, extension: row.extension, name: row.name, email: row.email };
}
