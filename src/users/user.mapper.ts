import { CreatedUserDto, UserDto } from './dto/user-response.dto';

/** The columns the API shows; digests are never selected for a response. */
export interface UserRow {
  id: string;
  name: string;
  email: string;
  extension: number;
  sip_username: string;
  created_at: Date;
}

export function toUserDto(row: UserRow): UserDto {
  return {
    id: row.id,
    name: row.name,
    email: row.email,
    extension: row.extension,
    sipUsername: row.sip_username,
    createdAt: row.created_at.toISOString(),
  };
}

export function toCreatedUserDto(row: UserRow, sipPassword: string): CreatedUserDto {
  return { ...toUserDto(row), sipPassword };
}
