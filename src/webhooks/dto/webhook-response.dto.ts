import { ApiProperty, PickType } from '@nestjs/swagger';
import { DELIVERY_STATUSES, type DeliveryStatus } from '../entities/webhook-delivery.entity';
import { ALL_EVENTS, EVENT_TYPES } from '../webhook-event-types';

export class WebhookDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ example: 'https://crm.internal.example.com/portal-events' })
  url!: string;

  @ApiProperty({ type: [String], enum: [ALL_EVENTS, ...EVENT_TYPES], example: ['user.created'] })
  events!: string[];

  @ApiProperty({ type: String, nullable: true, example: 'CRM' })
  description!: string | null;

  @ApiProperty({ description: 'false: nothing is sent; see disabledReason' })
  enabled!: boolean;

  @ApiProperty({
    type: String,
    nullable: true,
    example: 'the receiver answered 410 Gone',
    description: 'Why the portal disabled it (a 410 Gone); null when enabled or disabled by PATCH',
  })
  disabledReason!: string | null;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;

  @ApiProperty({ format: 'date-time' })
  updatedAt!: string;
}

/** What POST /webhooks answers: the webhook as created, and its secret, shown only here. */
export class CreatedWebhookDto extends PickType(WebhookDto, [
  'id',
  'url',
  'events',
  'description',
  'enabled',
  'createdAt',
] as const) {
  @ApiProperty({
    example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw8YZ5m1hGN1Q=',
    pattern: '^whsec_[A-Za-z0-9+/]{43}=$',
    description:
      'The signing secret, shown only here and by rotate-secret: `whsec_` and the base64 of 32 random bytes (Standard Webhooks)',
  })
  secret!: string;
}

export class WebhookListDto {
  @ApiProperty({ type: [WebhookDto], description: 'Newest first' })
  items!: WebhookDto[];

  @ApiProperty({ type: 'integer', example: 1, description: 'All webhooks, before limit/offset' })
  total!: number;
}

export class RotatedSecretDto {
  @ApiProperty({
    example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw8YZ5m1hGN1Q=',
    pattern: '^whsec_[A-Za-z0-9+/]{43}=$',
    description: 'The new secret, shown only here',
  })
  secret!: string;

  @ApiProperty({
    format: 'date-time',
    description:
      'Until then the previous secret signs too (a second signature in webhook-signature)',
  })
  previousSecretExpiresAt!: string;
}

export class DeliveryAttemptDto {
  @ApiProperty({ type: 'integer', example: 1 })
  attempt!: number;

  @ApiProperty({ format: 'date-time' })
  at!: string;

  @ApiProperty({ type: 'integer', nullable: true, example: 500, description: 'null: no answer' })
  httpStatus!: number | null;

  @ApiProperty({
    type: String,
    nullable: true,
    example: 'ECONNREFUSED: connect ECONNREFUSED 10.20.0.5:443',
    description: 'Why the attempt failed without an answer (or with a 3xx); null otherwise',
  })
  error!: string | null;

  @ApiProperty({ type: 'integer', example: 42 })
  durationMs!: number;

  @ApiProperty({
    format: 'date-time',
    type: String,
    nullable: true,
    description: 'When the next attempt was scheduled; null when none was',
  })
  nextAttemptAt!: string | null;
}

export class DeliveryDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ format: 'uuid', description: 'Also the webhook-id header of every attempt' })
  eventId!: string;

  @ApiProperty({ enum: EVENT_TYPES })
  eventType!: string;

  @ApiProperty({ enum: DELIVERY_STATUSES })
  status!: DeliveryStatus;

  @ApiProperty({
    format: 'date-time',
    type: String,
    nullable: true,
    description: 'When it is sent next, while pending',
  })
  nextAttemptAt!: string | null;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;

  @ApiProperty({ format: 'date-time', type: String, nullable: true })
  deliveredAt!: string | null;

  @ApiProperty({ type: [DeliveryAttemptDto], description: 'Oldest first' })
  attempts!: DeliveryAttemptDto[];
}

export class DeliveryListDto {
  @ApiProperty({ type: [DeliveryDto], description: 'Newest first' })
  items!: DeliveryDto[];

  @ApiProperty({ type: 'integer', example: 1 })
  total!: number;
}

export class PingDto {
  @ApiProperty({ format: 'uuid', description: 'The webhook.ping event' })
  eventId!: string;

  @ApiProperty({ format: 'uuid' })
  deliveryId!: string;
}
