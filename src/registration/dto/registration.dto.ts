import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { CONTACT_STATUSES, type ContactStatus } from '../../asterisk/cli/contact-parsers';

export const REGISTRATION_STATES = [
  'registered',
  'unreachable',
  'unregistered',
  'unknown',
] as const;
export type RegistrationState = (typeof REGISTRATION_STATES)[number];
/** The states a list can be filtered on: `unknown` is no property of a phone. */
export const FILTER_STATES = ['registered', 'unreachable', 'unregistered'] as const;
export type FilterState = (typeof FILTER_STATES)[number];

export class ContactDto {
  @ApiProperty({ example: 'local', description: 'The Asterisk node the phone registered with' })
  node!: string;

  @ApiProperty({
    example: 'sip:1000@192.0.2.10:5060;rinstance=8e9a6d3c7e0e2c3f',
    description:
      'Where calls are sent: the Contact URI as Asterisk stored it, whole, parameters included ' +
      '(`;rinstance=...`, `;ob`). Text the phone chose: show it as data.',
  })
  uri!: string;

  @ApiProperty({
    enum: CONTACT_STATUSES,
    example: 'Avail',
    description:
      "Asterisk's qualify status: Avail (answers OPTIONS), Unavail (stopped answering), NonQual (not qualified yet, or SIP_QUALIFY_SECONDS=0)",
  })
  status!: ContactStatus;

  @ApiProperty({
    type: 'number',
    nullable: true,
    example: 0.581,
    description: 'Round trip of the last answered OPTIONS in ms; null when none was answered',
  })
  rttMs!: number | null;

  @ApiProperty({
    type: 'string',
    nullable: true,
    example: 'Yealink SIP-T46S 66.86.0.15',
    description: "The phone's User-Agent header; null in lists and when the phone sent none",
  })
  userAgent!: string | null;

  @ApiProperty({
    type: 'string',
    format: 'date-time',
    nullable: true,
    example: '2026-12-01T11:00:00.000Z',
    description: 'When the registration expires unless the phone renews it; null in lists',
  })
  expiresAt!: string | null;

  @ApiProperty({
    type: 'string',
    nullable: true,
    example: '192.0.2.10',
    description: 'Address the REGISTER came from; null in lists',
  })
  viaAddress!: string | null;
}

export class RegistrationDto {
  @ApiProperty({
    enum: REGISTRATION_STATES,
    example: 'registered',
    description:
      'registered: a live contact that answers (Avail) or is not qualified (NonQual); unreachable: registered, but every contact stopped answering (Unavail); unregistered: no live contact; unknown: Asterisk did not answer, or (with several nodes) no node that answered has a contact and some node did not answer (see reason)',
  })
  state!: RegistrationState;

  @ApiProperty({
    type: [ContactDto],
    description: 'The live contacts; empty unless registered or unreachable',
  })
  contacts!: ContactDto[];

  @ApiProperty({
    format: 'date-time',
    example: '2026-12-01T10:59:58.000Z',
    description: 'When Asterisk was asked (listings are reused for about 2 s)',
  })
  checkedAt!: string;

  @ApiPropertyOptional({
    example:
      '"pjsip show contacts" failed: Unable to connect to remote asterisk: Asterisk is not running or its control socket is not reachable',
    description: 'Only with state unknown: why Asterisk gave no answer',
  })
  reason?: string;
}
