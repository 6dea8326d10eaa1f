import type { INestApplication } from '@nestjs/common';
import {
  DocumentBuilder,
  OpenAPIObject,
  PathItemObject,
  ReferenceObject,
  SchemaObject,
  SwaggerModule,
} from '@nestjs/swagger';
import { version } from '../../../package.json';

/** The OpenAPI document served at /docs-json and committed as openapi.json. */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('SynergyCall PBX portal')
    .setDescription(
      'Administers an Asterisk 22 PBX: users and their SIP extensions, and an explicit apply that writes the PJSIP and dialplan include files and reloads Asterisk. Every error is `{statusCode, error, message, requestId}`.',
    )
    .setVersion(version)
    // Relative: the portal serves its own document, from wherever it is reached.
    .addServer('/', 'The portal that serves this document')
    .addTag(
      'users',
      'Users, their extensions and SIP credentials; changes reach Asterisk at the next apply',
    )
    .addTag('extensions', 'The extension range: which numbers are free and whose the others are')
    .addTag('apply', 'Writing the Asterisk config from the database, and the audit log of applies')
    .addTag('api-keys', 'API keys with scopes, for every caller but the bootstrap token')
    .addTag('audit', 'Who changed what, written in the transaction of each change')
    .addTag('webhooks', 'Signed events to other services: subscriptions, deliveries, retries')
    .addTag('metrics', 'Prometheus metrics, for a key with metrics:read only')
    .addTag('health', 'Liveness and database reachability, without a token')
    .addBearerAuth({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'API key (scp_...) or PORTAL_API_TOKEN',
      description:
        'An API key (`scp_...`, from POST /api-keys), which may call the operations whose `x-required-scope` it holds; or the value of PORTAL_API_TOKEN, which may call every operation',
    })
    .build();
  return describeCallbacks(
    describeScopes(closeRequestBodies(SwaggerModule.createDocument(app, config))),
  );
}

/** Each operation's description starts with the scope its `x-required-scope` names. */
function describeScopes(doc: OpenAPIObject): OpenAPIObject {
  for (const item of Object.values(doc.paths)) {
    for (const op of [item.get, item.put, item.post, item.delete, item.patch]) {
      const scope: unknown = (op as Record<string, unknown> | undefined)?.['x-required-scope'];
      if (!op || typeof scope !== 'string') continue;
      const needs = `Requires the scope \`${scope}\` (an API key without it gets 403; PORTAL_API_TOKEN holds every scope).`;
      op.description = op.description ? `${needs} ${op.description}` : needs;
    }
  }
  return doc;
}

/**
 * A callback (a webhook event the portal POSTs to a subscriber) is named for its event, and
 * carries no bearer token: it is authenticated by its signature instead. The bodies of all
 * callbacks together make `WebhookEvent`, one of them told apart by `type`, for a client to
 * type what it receives.
 */
function describeCallbacks(doc: OpenAPIObject): OpenAPIObject {
  const bodies = new Map<string, string>();
  for (const item of Object.values(doc.paths)) {
    for (const op of [item.get, item.put, item.post, item.delete, item.patch]) {
      for (const [name, callback] of Object.entries(op?.callbacks ?? {})) {
        if ('$ref' in callback) continue;
        for (const target of Object.values(callback as Record<string, PathItemObject>)) {
          const sent = target.post;
          if (!sent) continue;
          sent.summary ??= `The ${name} event, POSTed to the webhook's URL and signed`;
          sent.security ??= [];
          const body = sent.requestBody;
          const schema =
            body && !('$ref' in body) ? body.content['application/json']?.schema : null;
          if (schema && '$ref' in schema) bodies.set(name, schema.$ref);
        }
      }
    }
  }
  if (bodies.size > 0 && doc.components?.schemas) {
    doc.components.schemas.WebhookEvent = {
      description: 'Any event a webhook receives; `type` tells which',
      oneOf: [...bodies.values()].map(($ref) => ({ $ref })),
      discriminator: { propertyName: 'type', mapping: Object.fromEntries(bodies) },
    };
  }
  return doc;
}

/**
 * The validation pipe refuses unknown fields, so every request body's schema says so
 * (`additionalProperties: false`); @nestjs/swagger has no class-level option for it.
 */
function closeRequestBodies(doc: OpenAPIObject): OpenAPIObject {
  const schemas = doc.components?.schemas ?? {};
  const close = (schema: SchemaObject | ReferenceObject | undefined): void => {
    const target: SchemaObject | ReferenceObject | undefined =
      schema && '$ref' in schema
        ? schemas[schema.$ref.replace('#/components/schemas/', '')]
        : schema;
    // A CSV body is a string: nothing to close.
    if (!target || '$ref' in target || target.type !== 'object') return;
    if (target.additionalProperties === false) return;
    target.additionalProperties = false;
    // The rows of an import body are objects with the same rule.
    for (const property of Object.values(target.properties ?? {})) {
      close('items' in property ? property.items : property);
    }
  };
  for (const item of Object.values(doc.paths)) {
    for (const op of [item.get, item.put, item.post, item.delete, item.patch]) {
      const body = op?.requestBody;
      if (!body || '$ref' in body) continue;
      for (const media of Object.values(body.content)) close(media.schema);
    }
  }
  return doc;
}
