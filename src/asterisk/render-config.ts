import { ExpectedAsteriskState } from './asterisk-reloader';
import { GeneratedFileKind } from './config-writer';
import { renderEndpointsBody } from './generation/endpoints-generator';
import { contentHash } from './generation/file-header';
import { renderRoutingBody } from './generation/routing-generator';
import { EndpointSettings, SipAccountRow } from './generation/types';

export interface RenderedConfig {
  bodies: Record<GeneratedFileKind, string>;
  hashes: Record<GeneratedFileKind, string>;
  /** One hash for the pair: what the audit log records and `pending` compares. */
  hash: string;
  expected: ExpectedAsteriskState;
}

/** Rows in, both file bodies and the state Asterisk must show after loading them out. */
export function renderConfig(rows: SipAccountRow[], settings: EndpointSettings): RenderedConfig {
  const bodies = {
    endpoints: renderEndpointsBody(rows, settings),
    routing: renderRoutingBody(rows, settings),
  };
  const hashes = { endpoints: contentHash(bodies.endpoints), routing: contentHash(bodies.routing) };
  const ids = rows.map((r) => String(r.extension));
  return {
    bodies,
    hashes,
    hash: contentHash(`${hashes.endpoints}\n${hashes.routing}\n`),
    expected: {
      endpoints: ids,
      aors: ids,
      auths: ids.map((id) => `${id}-auth`),
      extensions: ids,
    },
  };
}
