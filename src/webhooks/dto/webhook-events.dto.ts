import { ApiCallbacks, ApiProperty, getSchemaPath } from '@nestjs/swagger';
import { EVENT_TYPES, EventType } from '../webhook-event-types';

/** The OpenAPI schemas of the events' payloads, one per type, so a client can type them. */

export class UserEventDataDto {
  @ApiProperty({ format: 'uuid' })
  userId!: string;

  @ApiProperty({ type: 'integer', nullable: true, example: 1001 })
  extension!: number | null;

  @ApiProperty({ example: 'Alice Smith' })
  name!: string;

  @ApiProperty({ example: 'alice@example.com' })
  email!: string;
}

export class UsersImportedDataDto {
  @ApiProperty({ type: 'integer', example: 2 })
  count!: number;

  @ApiProperty({ type: [UserEventDataDto], description: 'Each imported user, in file order' })
  users!: UserEventDataDto[];
}

export class ApiKeyEventDataDto {
  @ApiProperty({ format: 'uuid' })
  apiKeyId!: string;

  @ApiProperty({ example: 'billing service' })
  name!: string;

  @ApiProperty({ type: [String], example: ['users:read'] })
  scopes!: string[];

  @ApiProperty({ example: 'Q2x4bW9k', description: 'The 8 characters after `scp_`, never the key' })
  prefix!: string;
}

export class ApplyNodeOutcomeDto {
  @ApiProperty({ example: 'pbx-b' })
  name!: string;

  @ApiProperty({
    enum: ['applied', 'unchanged', 'rolled_back', 'failed'],
    example: 'applied',
    description: 'As the apply answer names it',
  })
  outcome!: string;
}

export class ApplyEventDataDto {
  @ApiProperty({ format: 'uuid' })
  applyId!: string;

  @ApiProperty({
    enum: ['success', 'partial', 'failed', 'rolled_back'],
    example: 'success',
    description: 'As GET /apply/logs reports it',
  })
  outcome!: string;

  @ApiProperty({ type: 'integer', example: 120, description: 'Users the apply wrote' })
  users!: number;

  @ApiProperty({
    type: [ApplyNodeOutcomeDto],
    description: "Each node's outcome (none when the config could not be generated)",
  })
  nodes!: ApplyNodeOutcomeDto[];
}

export class PhoneEventDataDto {
  @ApiProperty({ format: 'uuid' })
  userId!: string;

  @ApiProperty({ type: 'integer', example: 1001 })
  extension!: number;

  @ApiProperty({ enum: ['registered', 'unreachable', 'unregistered'] })
  state!: string;

  @ApiProperty({
    type: String,
    nullable: true,
    example: 'sip:1001@192.0.2.10:5060',
    description: 'The contact Asterisk knows; null when unregistered',
  })
  contactUri!: string | null;
}

export class PingEventDataDto {
  @ApiProperty({ format: 'uuid' })
  webhookId!: string;
}

const DATA: Record<EventType, new () => object> = {
  'user.created': UserEventDataDto,
  'user.updated': UserEventDataDto,
  'user.deleted': UserEventDataDto,
  'user.sip_password_rotated': UserEventDataDto,
  'users.imported': UsersImportedDataDto,
  'apply.succeeded': ApplyEventDataDto,
  'apply.failed': ApplyEventDataDto,
  'api_key.created': ApiKeyEventDataDto,
  'api_key.revoked': ApiKeyEventDataDto,
  'phone.registered': PhoneEventDataDto,
  'phone.unreachable': PhoneEventDataDto,
  'phone.unregistered': PhoneEventDataDto,
  'webhook.ping': PingEventDataDto,
};

/** `user.sip_password_rotated` -> `UserSipPasswordRotatedEvent`. */
export const eventSchemaName = (type: EventType): string =>
  `${type
    .split(/[._]/)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('')}Event`;

/** One class per event type, named for its schema: `{id, type, timestamp, data}`. */
function eventClass(type: EventType): new () => object {
  const named = { [eventSchemaName(type)]: class {} };
  const cls = named[eventSchemaName(type)];
  const p = cls.prototype;
  ApiProperty({
    type: String,
    format: 'uuid',
    description: 'The event id; also the webhook-id header',
  })(p, 'id');
  ApiProperty({ type: String, enum: [type], example: type })(p, 'type');
  ApiProperty({ type: String, format: 'date-time', description: 'When the change was made' })(
    p,
    'timestamp',
  );
  ApiProperty({ type: DATA[type] })(p, 'data');
  return cls;
}

export const EVENT_CLASSES = EVENT_TYPES.map(eventClass);

/** Each event as a callback of POST /webhooks: what the portal POSTs to the URL. */
export const EVENT_CALLBACKS: Parameters<typeof ApiCallbacks> = EVENT_TYPES.map((type, i) => ({
  name: type,
  callbackUrl: '{$request.body#/url}',
  method: 'post',
  requestBody: { type: EVENT_CLASSES[i] },
  expectedResponse: {
    status: 200,
    description:
      'Any 2xx acknowledges the event; 410 Gone disables the webhook; anything else, a redirect or no answer within 15 s is retried',
  },
}));

/** The schema reference of an event type's payload. */
export const eventSchemaRef = (type: EventType): string => getSchemaPath(eventSchemaName(type));
