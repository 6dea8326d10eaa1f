import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiCallbacks,
  ApiCreatedResponse,
  ApiExtraModels,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { RequiresScope } from '../common/access/requires-scope.decorator';
import { ApiErrorResponses, BODY_ERRORS, TOKEN_ERRORS } from '../common/errors/api-error-responses';
import { NoFieldsPipe } from '../common/validation/no-fields.pipe';
import { UuidParam } from '../common/validation/uuid-param.pipe';
import {
  CreatedWebhookDto,
  DeliveryDto,
  DeliveryListDto,
  PingDto,
  RotatedSecretDto,
  WebhookDto,
  WebhookListDto,
} from './dto/webhook-response.dto';
import {
  CreateWebhookDto,
  ListDeliveriesQueryDto,
  ListWebhooksQueryDto,
  UpdateWebhookDto,
} from './dto/webhook-request.dto';
import { EVENT_CALLBACKS, EVENT_CLASSES } from './dto/webhook-events.dto';
import { WebhooksService } from './webhooks.service';

const URL_REFUSED =
  'WEBHOOK_URL_REFUSED: the URL is not http(s), holds credentials, or its host is (or resolves to) a loopback, link-local, private, CGNAT, unique-local, unspecified or multicast address that WEBHOOK_ALLOWED_NETWORKS does not name; the message names the rule. BAD_REQUEST: a field is missing, invalid or unknown';
const NOT_FOUND = 'WEBHOOK_NOT_FOUND: no webhook with this id';
const ID_PARAM = { name: 'id', format: 'uuid', description: 'The webhook id' } as const;

@ApiTags('webhooks')
@ApiBearerAuth()
@ApiExtraModels(...EVENT_CLASSES)
@Controller('webhooks')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Post()
  @RequiresScope('webhooks:admin')
  @ApiOperation({
    operationId: 'createWebhook',
    summary: 'Subscribe a URL to events; the signing secret is shown only in this answer',
    description:
      'Each event is POSTed to the URL as JSON `{id, type, timestamp, data}` (one schema per type, e.g. UserCreatedEvent; each is a callback of this operation), signed by the Standard Webhooks scheme (webhook-id, webhook-timestamp, webhook-signature).',
  })
  @ApiCallbacks(...EVENT_CALLBACKS)
  @ApiCreatedResponse({ type: CreatedWebhookDto, description: 'The webhook and its secret' })
  @ApiErrorResponses({ 400: URL_REFUSED, ...TOKEN_ERRORS, ...BODY_ERRORS })
  create(@Body() dto: CreateWebhookDto): Promise<CreatedWebhookDto> {
    return this.webhooks.create(dto);
  }

  @Get()
  @RequiresScope('webhooks:admin')
  @ApiOperation({ operationId: 'listWebhooks', summary: 'Webhooks, newest first, without secrets' })
  @ApiOkResponse({ type: WebhookListDto, description: 'One page, and how many there are' })
  @ApiErrorResponses({
    400: 'A parameter is invalid, repeated or unknown (e.g. "limit must be an integer from 1 to 500")',
    ...TOKEN_ERRORS,
  })
  list(@Query() query: ListWebhooksQueryDto): Promise<WebhookListDto> {
    return this.webhooks.list(query);
  }

  @Get(':id')
  @RequiresScope('webhooks:admin')
  @ApiParam(ID_PARAM)
  @ApiOperation({ operationId: 'getWebhook', summary: 'One webhook, without its secret' })
  @ApiOkResponse({ type: WebhookDto, description: 'The webhook' })
  @ApiErrorResponses({
    400: 'id is not a UUID, or a query parameter was sent',
    ...TOKEN_ERRORS,
    404: NOT_FOUND,
  })
  get(
    @Param('id', UuidParam) id: string,
    @Query(NoFieldsPipe) _query: unknown,
  ): Promise<WebhookDto> {
    return this.webhooks.get(id);
  }

  @Patch(':id')
  @RequiresScope('webhooks:admin')
  @ApiParam(ID_PARAM)
  @ApiOperation({
    operationId: 'updateWebhook',
    summary: 'Change the URL, events, description, or enable/disable a webhook',
    description:
      'A new URL is checked as at creation. A disabled webhook gets no new event; the deliveries it had pending wait, and go out when it is enabled again.',
  })
  @ApiOkResponse({ type: WebhookDto, description: 'The webhook as it is now' })
  @ApiErrorResponses({
    400: `${URL_REFUSED}; or nothing to change`,
    ...TOKEN_ERRORS,
    ...BODY_ERRORS,
    404: NOT_FOUND,
  })
  update(@Param('id', UuidParam) id: string, @Body() dto: UpdateWebhookDto): Promise<WebhookDto> {
    return this.webhooks.update(id, dto);
  }

  @Delete(':id')
  @HttpCode(204)
  @RequiresScope('webhooks:admin')
  @ApiParam(ID_PARAM)
  @ApiOperation({
    operationId: 'deleteWebhook',
    summary: 'Delete a webhook: nothing more is sent to it, pending deliveries included',
  })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiErrorResponses({
    400: 'id is not a UUID, or a query parameter was sent',
    ...TOKEN_ERRORS,
    404: NOT_FOUND,
  })
  remove(@Param('id', UuidParam) id: string, @Query(NoFieldsPipe) _query: unknown): Promise<void> {
    return this.webhooks.remove(id);
  }

  @Post(':id/rotate-secret')
  @HttpCode(200)
  @RequiresScope('webhooks:admin')
  @ApiParam(ID_PARAM)
  @ApiOperation({
    operationId: 'rotateWebhookSecret',
    summary: 'A new signing secret, shown only here; the previous one signs too for 24 hours',
  })
  @ApiOkResponse({ type: RotatedSecretDto, description: 'The new secret' })
  @ApiErrorResponses({
    400: 'id is not a UUID, or a body or query parameter was sent',
    ...TOKEN_ERRORS,
    ...BODY_ERRORS,
    404: NOT_FOUND,
  })
  rotateSecret(
    @Param('id', UuidParam) id: string,
    @Body(NoFieldsPipe) _body: unknown,
    @Query(NoFieldsPipe) _query: unknown,
  ): Promise<RotatedSecretDto> {
    return this.webhooks.rotateSecret(id);
  }

  @Get(':id/deliveries')
  @RequiresScope('webhooks:admin')
  @ApiParam(ID_PARAM)
  @ApiOperation({
    operationId: 'listWebhookDeliveries',
    summary: "A webhook's deliveries, newest first, each with its attempts",
  })
  @ApiOkResponse({ type: DeliveryListDto, description: 'One page, and how many match' })
  @ApiErrorResponses({
    400: 'id is not a UUID, or a parameter is invalid, repeated or unknown',
    ...TOKEN_ERRORS,
    404: NOT_FOUND,
  })
  deliveries(
    @Param('id', UuidParam) id: string,
    @Query() query: ListDeliveriesQueryDto,
  ): Promise<DeliveryListDto> {
    return this.webhooks.deliveries(id, query);
  }

  @Post(':id/deliveries/:deliveryId/retry')
  @HttpCode(202)
  @RequiresScope('webhooks:admin')
  @ApiParam(ID_PARAM)
  @ApiParam({ name: 'deliveryId', format: 'uuid', description: 'The delivery id' })
  @ApiOperation({
    operationId: 'retryWebhookDelivery',
    summary: 'Send a delivery again now, whatever its state (same webhook-id)',
  })
  @ApiAcceptedResponse({ type: DeliveryDto, description: 'The delivery, due now' })
  @ApiErrorResponses({
    400: 'id or deliveryId is not a UUID, or a body or query parameter was sent',
    ...TOKEN_ERRORS,
    ...BODY_ERRORS,
    404: `${NOT_FOUND}; WEBHOOK_DELIVERY_NOT_FOUND: the webhook has no such delivery`,
  })
  retry(
    @Param('id', UuidParam) id: string,
    @Param('deliveryId', UuidParam) deliveryId: string,
    @Body(NoFieldsPipe) _body: unknown,
    @Query(NoFieldsPipe) _query: unknown,
  ): Promise<DeliveryDto> {
    return this.webhooks.retry(id, deliveryId);
  }

  @Post(':id/ping')
  @HttpCode(202)
  @RequiresScope('webhooks:admin')
  @ApiParam(ID_PARAM)
  @ApiOperation({
    operationId: 'pingWebhook',
    summary: 'Send a webhook.ping event to this webhook, whatever events it asked for',
  })
  @ApiAcceptedResponse({ type: PingDto, description: 'The event and its delivery' })
  @ApiErrorResponses({
    400: 'id is not a UUID, a body or query parameter was sent, or the webhook is disabled',
    ...TOKEN_ERRORS,
    ...BODY_ERRORS,
    404: NOT_FOUND,
  })
  ping(
    @Param('id', UuidParam) id: string,
    @Body(NoFieldsPipe) _body: unknown,
    @Query(NoFieldsPipe) _query: unknown,
  ): Promise<PingDto> {
    return this.webhooks.ping(id);
  }
}
