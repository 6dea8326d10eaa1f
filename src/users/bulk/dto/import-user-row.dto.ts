import { IsOptional, IsString, Matches } from 'class-validator';
import { NewUserFieldsDto } from '../../dto/create-user.dto';

export const SIP_PASSWORD_MIN = 12;
export const SIP_PASSWORD_MAX = 128;
/** Printable ASCII without the space: what a phone's keypad or web form takes everywhere. */
const SIP_PASSWORD_PATTERN = new RegExp(`^[\\x21-\\x7E]{${SIP_PASSWORD_MIN},${SIP_PASSWORD_MAX}}$`);

/**
 * One row of an import: POST /users's fields with their rules and messages (inherited), plus
 * what an existing PBX brings. `extension` is checked by the service, against the configured
 * range; `sipUsername` must equal it (the SIP username is the extension number here);
 * `createdAt` is the export's and is ignored (a user's createdAt is when it was imported).
 */
export class ImportUserRowDto extends NewUserFieldsDto {
  @IsOptional()
  extension?: unknown;

  @IsOptional()
  @IsString({ message: '$property must be a string' })
  // Never echoes the value: a password reaches no message.
  @Matches(SIP_PASSWORD_PATTERN, {
    message: `$property must be ${SIP_PASSWORD_MIN} to ${SIP_PASSWORD_MAX} printable ASCII characters without spaces`,
  })
  sipPassword?: string;

  @IsOptional()
  @IsString({ message: '$property must be a string' })
  sipUsername?: string;

  @IsOptional()
  @IsString({ message: '$property must be a string' })
  createdAt?: string;
}
