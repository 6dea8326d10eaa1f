import { isEmail, isISO8601, isUUID } from 'class-validator';
import OpenAPIResponseValidator from 'openapi-response-validator';
import type { OpenAPIV3 } from 'openapi-types';

/** What a contract check needs of an answer (supertest's Response has it). */
export interface Answer {
  status: number;
  text: string;
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
}

/** The formats the document uses; the validator knows none by itself. */
const FORMATS = {
  uuid: (v: string) => isUUID(v),
  'date-time': (v: string) => isISO8601(v, { strict: true }) && v.includes('T'),
  email: (v: string) => isEmail(v),
};

/**
 * Every object schema with properties and no word on others gets `additionalProperties:
 * false`, so a field the document does not name fails the check. Only for checking: the
 * served document leaves responses open, so a client keeps working when a field is added.
 */
function closed<T>(schema: T): T {
  const copy = structuredClone(schema);
  const walk = (node: unknown): void => {
    if (node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) return node.forEach(walk);
    const o = node as Record<string, unknown>;
    if (o.properties && o.additionalProperties === undefined) o.additionalProperties = false;
    Object.values(o).forEach(walk);
  };
  walk(copy);
  return copy;
}

/**
 * Checks real answers against the OpenAPI document with openapi-response-validator: the
 * route and status must be documented, the body must match the schema of that status (no
 * field the schema does not name), and a documented empty answer must be empty. Remembers
 * which documented responses were seen, so a suite can require all of them.
 */
export class ContractChecker {
  private readonly components: OpenAPIV3.ComponentsObject;
  private readonly validators = new Map<string, OpenAPIResponseValidator>();
  readonly problems: string[] = [];
  readonly seen = new Set<string>();

  constructor(private readonly doc: OpenAPIV3.Document) {
    this.components = closed(doc.components ?? {});
  }

  /** "POST /users/{id}/sip-password 404" for every response the document names. */
  documented(): string[] {
    return Object.entries(this.doc.paths).flatMap(([path, item]) =>
      (['get', 'post', 'put', 'patch', 'delete'] as const).flatMap((method) =>
        Object.keys(item?.[method]?.responses ?? {}).map(
          (status) => `${method.toUpperCase()} ${path} ${status}`,
        ),
      ),
    );
  }

  /** Checks one answer of `route` ("GET /users", path as documented); returns it. */
  check<T extends Answer>(route: string, res: T, label = ''): T {
    const where = `${route} -> ${res.status}${label ? ` (${label})` : ''}`;
    const [method, path] = route.split(' ');
    const op = this.doc.paths[path]?.[method.toLowerCase() as OpenAPIV3.HttpMethods];
    if (!op) {
      this.problems.push(`${where}: no such operation in the document`);
      return res;
    }
    const response = op.responses[String(res.status)] as OpenAPIV3.ResponseObject | undefined;
    this.seen.add(`${route} ${res.status}`);
    if (!response) {
      this.problems.push(`${where}: status not documented: ${res.text.slice(0, 300)}`);
      return res;
    }
    const type = String(res.headers['content-type'] ?? '');
    const media = Object.keys(response.content ?? {});
    if (response.content && !media.some((m) => type.startsWith(m))) {
      this.problems.push(`${where}: Content-Type ${type || 'none'}, not ${media.join(' or ')}`);
    }
    if (!response.content && res.text !== '') {
      this.problems.push(`${where}: documented without a body, but sent ${res.text.slice(0, 200)}`);
    }
    // A documented text body (the CSV export, the metrics) has no JSON schema to check it
    // against; its grammar is its own suite's.
    if (response.content && !type.startsWith('application/json')) {
      if (res.text === '') this.problems.push(`${where}: documented with a body, but sent none`);
      return res;
    }
    let body: unknown;
    try {
      body = response.content ? (JSON.parse(res.text) as unknown) : undefined;
    } catch {
      this.problems.push(`${where}: body is not JSON: ${res.text.slice(0, 200)}`);
      return res;
    }
    const failed = this.validatorFor(route, op.responses).validateResponse(res.status, body);
    if (failed) {
      this.problems.push(`${where}: ${JSON.stringify(failed.errors)} in ${res.text.slice(0, 400)}`);
    }
    return res;
  }

  /** What is wrong with `value` against the component schema `name`; [] when nothing. */
  schemaProblems(name: string, value: unknown): unknown[] {
    const v = new OpenAPIResponseValidator({
      responses: {
        200: {
          description: name,
          content: { 'application/json': { schema: { $ref: `#/components/schemas/${name}` } } },
        },
      } as never,
      components: this.components,
      customFormats: FORMATS,
    });
    return v.validateResponse(200, value)?.errors ?? [];
  }

  private validatorFor(
    route: string,
    responses: OpenAPIV3.ResponsesObject,
  ): OpenAPIResponseValidator {
    let v = this.validators.get(route);
    if (!v) {
      v = new OpenAPIResponseValidator({
        responses: closed(jsonOnly(responses)) as never,
        components: this.components,
        customFormats: FORMATS,
      });
      this.validators.set(route, v);
    }
    return v;
  }
}

/**
 * The responses with only their JSON content: the validator reads the first content type,
 * and a route that also answers text (the CSV export) lists that first.
 */
function jsonOnly(responses: OpenAPIV3.ResponsesObject): OpenAPIV3.ResponsesObject {
  return Object.fromEntries(
    Object.entries(responses).map(([status, r]) => {
      const response = r as OpenAPIV3.ResponseObject;
      const json = response.content?.['application/json'];
      return [status, json ? { ...response, content: { 'application/json': json } } : response];
    }),
  );
}
