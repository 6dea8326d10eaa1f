import { AsyncLocalStorage } from 'node:async_hooks';
import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { Request } from 'express';
import { Observable } from 'rxjs';
import type { Scope } from './scopes';

/** Who made a request: an API key, or the bootstrap token (PORTAL_API_TOKEN). */
export interface Actor {
  type: 'key' | 'bootstrap';
  /** The key's id; null for the bootstrap token. */
  id: string | null;
  /** The key's name; `bootstrap` for the token. */
  name: string;
  scopes: readonly Scope[];
}

/** What the audit records of the request a change comes from. */
export interface RequestContext {
  actor: Actor;
  requestId: string | null;
  clientAddress: string | null;
}

/** Set on the request by the bearer guard once it knows who is calling. */
export type RequestWithActor = Request & { actor?: Actor; id?: unknown };

const storage = new AsyncLocalStorage<RequestContext>();

/**
 * The context of the request being handled, carried by AsyncLocalStorage so services and
 * the audit writer need no extra parameter; undefined outside a request.
 */
export const currentRequestContext = (): RequestContext | undefined => storage.getStore();

/** Runs `work` as if inside a request of `context`: for start-up jobs and service tests. */
export const runWithRequestContext = <T>(context: RequestContext, work: () => T): T =>
  storage.run(context, work);

/**
 * Runs the handler (and the pipes before it) inside the request's context. Guards run
 * before interceptors, so the actor is known by then; routes without one (@Public) get none.
 */
@Injectable()
export class RequestContextInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const req = context.switchToHttp().getRequest<RequestWithActor>();
    const actor = req.actor;
    if (!actor) return next.handle();
    const store: RequestContext = {
      actor,
      requestId: typeof req.id === 'string' ? req.id : null,
      clientAddress: req.ip ?? req.socket?.remoteAddress ?? null,
    };
    // Subscribing inside run() makes the handler's promise chain carry the store.
    return new Observable((subscriber) =>
      storage.run(store, () => next.handle().subscribe(subscriber)),
    );
  }
}
