import { ApiPropertyOptional } from '@nestjs/swagger';
import { Refused, WhenSent } from '../../common/validation/validators';
import { EMAIL_DOC, EmailRules, NAME_DOC, NameRules } from './create-user.dto';

/**
 * PATCH /users/:id: the fields create takes, each optional, with create's rules and messages.
 * At least one must be sent (the service says "nothing to change" otherwise).
 */
export class UpdateUserDto {
  @ApiPropertyOptional(NAME_DOC)
  @WhenSent()
  @NameRules()
  name?: string;

  @ApiPropertyOptional(EMAIL_DOC)
  @WhenSent()
  @EmailRules()
  email?: string;

  // Not in the document (the body is closed there); named here only to say why it is refused.
  @WhenSent()
  @Refused(
    'extension cannot be changed: a user keeps its number for life (delete the user and create it again for another)',
  )
  extension?: never;
}
