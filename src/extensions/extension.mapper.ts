import type { ExtensionNumberRow } from './extensions.repository';
import { ExtensionDto } from './dto/extension-response.dto';

export function toExtensionDto(row: ExtensionNumberRow): ExtensionDto {
  return { number: row.number, userId: row.user_id };
}
