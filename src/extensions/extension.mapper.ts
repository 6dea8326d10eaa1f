import type { ExtensionNumber } from './extensions.repository';
import { ExtensionDto } from './dto/extension-response.dto';

export function toExtensionDto(row: ExtensionNumber): ExtensionDto {
  return { number: row.number, userId: row.userId };
}
