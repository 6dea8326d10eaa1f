import type { UserWithExtensionRow } from '../extensions/extensions.repository';
import { CreatedUserDto, UserDto } from './dto/user-response.dto';

export function toUserDto(row: UserWithExtensionRow): UserDto {
  return {
    id: row.id,
    name: row.name,
    email: row.email,
    extension: row.extension,
    sipUsername: row.sip_username,
    createdAt: row.created_at.toISOString(),
  };
}

export function toCreatedUserDto(row: UserWithExtensionRow, sipPassword: string): CreatedUserDto {
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
