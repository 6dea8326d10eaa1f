import { Injectable } from '@nestjs/common';
import type { Response } from 'express';
import { ApiKeyVerifier } from '../api-keys/api-key-verifier';
import { tooManyFailedAuthentications, unauthorized } from '../common/errors/domain-errors';
import { ApiToken } from './api-token';
import { AuthFailureLimiter } from './auth-failure-limiter';
import type { Actor, RequestWithActor } from '../common/access/request-context';
import { SCOPES } from '../common/access/scopes';

/** PORTAL_API_TOKEN: every scope, named `bootstrap` in the audit. */
const BOOTSTRAP: Actor = { type: 'bootstrap', id: null, name: 'bootstrap', scopes: SCOPES };

/**
 * Who is calling: the bootstrap token or an API key looked up by its hash. Failed attempts
 * count towards the address's limit. The guard asks it for every protected route; the
 * import's large-body middleware asks it before that body is read.
 */
@Injectable()
export class Authenticator {
  constructor(
    private readonly token: ApiToken,
    private readonly keys: ApiKeyVerifier,
    private readonly limiter: AuthFailureLimiter,
  ) {}

  /** The caller, also kept on the request; throws the 401 or 429 to answer. */
  async authenticate(req: RequestWithActor, res: Response): Promise<Actor> {
    if (req.actor) return req.actor;
    const ip = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    const blocked = this.limiter.blockedFor(ip);
    if (blocked > 0) tooMany(res, blocked);

    const header = req.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    const actor = match ? await this.identify(match[1]) : null;
    if (!actor) {
      // Every refusal counts as a failure, a malformed header too: it may be a guess.
      const nowBlocked = this.limiter.fail(ip);
      if (nowBlocked > 0) tooMany(res, nowBlocked);
      throw unauthorized(refusal(header, match !== null));
    }
    req.actor = actor;
    return actor;
  }

  /** The bootstrap token (compared in constant time) or a live key; null for anything else. */
  private async identify(bearer: string): Promise<Actor | null> {
    if (this.token.matches(bearer)) return BOOTSTRAP;
    return this.keys.verify(bearer);
  }
}

function tooMany(res: Response, seconds: number): never {
  res.setHeader('Retry-After', String(seconds));
  throw tooManyFailedAuthentications(seconds);
}

/** Says which of the three things is wrong: no header, its form, or the token in it. */
function refusal(header: string | undefined, wellFormed: boolean): string {
  if (!header) return 'Missing Authorization header: send "Bearer <token>"';
  if (!wellFormed) return 'Authorization header must be "Bearer <token>"';
  return 'Invalid API token';
}
