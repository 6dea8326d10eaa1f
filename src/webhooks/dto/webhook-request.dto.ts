import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional, ApiPropertyOptions } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  IsBoolean,
  IsDefined,
  IsIn,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  ValidateBy,
  ValidationArguments,
} from 'class-validator';
import { SingleValue, trim, WhenSent } from '../../common/validation/validators';
import { PageLimit, PageOffset } from '../../common/validation/query-params';
import { ALL_EVENTS, EVENT_TYPES, isEventType } from '../webhook-event-types';
import { DELIVERY_STATUSES, type DeliveryStatus } from '../entities/webhook-delivery.entity';

const EVENT_NAMES = [ALL_EVENTS, ...EVENT_TYPES];
const EVENT_LIKE = /^[a-z_.*]{1,64}$/;

/** A non-empty list of event names or `*`, each once; the message lists the valid names. */
function EventList(): PropertyDecorator {
  const valid = EVENT_NAMES.join(', ');
  const problem = (value: unknown): string | null => {
    if (!Array.isArray(value) || value.length === 0) {
      return `events must be a non-empty array of event names or "*" (${valid})`;
    }
    const unknown = value.filter((e) => e !== ALL_EVENTS && !isEventType(e));
    if (unknown.length > 0) {
      const named = unknown.every((e) => typeof e === 'string' && EVENT_LIKE.test(e))
        ? `unknown event ${unknown.map((e) => `"${String(e)}"`).join(', ')}`
        : 'a value that is not an event name';
      return `events has ${named}; the valid names are ${valid}`;
    }
    if (new Set(value).size !== value.length) return 'events must not name an event twice';
    return null;
  };
  return ValidateBy({
    name: 'eventList',
    validator: {
      validate: (value: unknown) => problem(value) === null,
      defaultMessage: (args?: ValidationArguments) => problem(args?.value) ?? '',
    },
  });
}

const URL_DOC: ApiPropertyOptions = {
  example: 'https://crm.internal.example.com/portal-events',
  maxLength: 2048,
  format: 'uri',
  description:
    'http or https, without credentials. Every address the host resolves to must be public (not loopback, link-local, private, CGNAT, unique-local, unspecified or multicast) unless WEBHOOK_ALLOWED_NETWORKS names it; checked here and again at each delivery',
};

const EVENTS_DOC: ApiPropertyOptions = {
  type: [String],
  enum: EVENT_NAMES,
  minItems: 1,
  uniqueItems: true,
  example: ['user.created', 'user.deleted'],
  description: 'The events to send, or ["*"] for all',
};

const DESCRIPTION_DOC: ApiPropertyOptions = {
  example: 'CRM: who is on which extension',
  maxLength: 500,
  description: 'For people reading the list; trimmed',
};

const UrlRules = (): PropertyDecorator =>
  applyDecorators(
    Transform(trim),
    IsString({ message: '$property must be a string' }),
    MaxLength(2048, { message: '$property must be at most 2048 characters' }),
  );

const DescriptionRules = (): PropertyDecorator =>
  applyDecorators(
    Transform(trim),
    IsString({ message: '$property must be a string' }),
    MaxLength(500, { message: '$property must be at most 500 characters' }),
    Matches(/^[^\p{Cc}\p{Cs}]*$/u, {
      message: '$property must not contain control characters or unpaired surrogates',
    }),
  );

export class CreateWebhookDto {
  @ApiProperty(URL_DOC)
  @IsDefined({ message: '$property is required' })
  @UrlRules()
  url!: string;

  @ApiProperty(EVENTS_DOC)
  @IsDefined({ message: '$property is required' })
  @EventList()
  events!: string[];

  @ApiPropertyOptional(DESCRIPTION_DOC)
  @IsOptional()
  @DescriptionRules()
  description?: string;
}

/** Every field optional; at least one must be sent. */
export class UpdateWebhookDto {
  @ApiPropertyOptional(URL_DOC)
  @WhenSent()
  @UrlRules()
  url?: string;

  @ApiPropertyOptional(EVENTS_DOC)
  @WhenSent()
  @EventList()
  events?: string[];

  @ApiPropertyOptional(DESCRIPTION_DOC)
  @WhenSent()
  @DescriptionRules()
  description?: string;

  @ApiPropertyOptional({
    example: true,
    description:
      'false: no new event is kept for it and pending deliveries wait; true sends them again',
  })
  @WhenSent()
  @IsBoolean({ message: '$property must be true or false' })
  enabled?: boolean;
}

export class ListWebhooksQueryDto {
  @PageLimit(500, 50)
  limit: number = 50;

  @PageOffset(1_000_000, 'Webhooks to skip, newest first')
  offset: number = 0;
}

export const DeliveryStatusParam = (): PropertyDecorator =>
  applyDecorators(
    ApiPropertyOptional({ enum: DELIVERY_STATUSES, description: 'Only deliveries in this state' }),
    IsOptional(),
    SingleValue(),
    IsIn(DELIVERY_STATUSES, {
      message: `$property must be one of ${DELIVERY_STATUSES.join(', ')}`,
    }),
  );

export class ListDeliveriesQueryDto {
  @DeliveryStatusParam()
  status?: DeliveryStatus;

  @PageLimit(500, 50)
  limit: number = 50;

  @PageOffset(1_000_000, 'Deliveries to skip, newest first')
  offset: number = 0;
}
