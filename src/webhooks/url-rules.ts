import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { addressRefusal, AllowedNetworks } from './address-rules';

/** Why `url` can never be a webhook's, by its text alone; null when it can. */
export function urlShapeRefusal(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'it is not an absolute URL';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return `only http and https URLs are allowed (got ${parsed.protocol.replace(/:$/, '')})`;
  }
  if (parsed.username !== '' || parsed.password !== '') {
    return 'credentials in the URL are not allowed (the signature authenticates the portal)';
  }
  if (parsed.hostname === '') return 'it has no host';
  return null;
}

/** The host as an address or a name: URL keeps an IPv6 literal in brackets. */
export const hostOf = (url: URL): string => url.hostname.replace(/^\[(.*)\]$/, '$1');

export type Resolution = { address: string; family: 4 | 6 } | { refused: string };

/**
 * Resolves the host of `url` and checks every address it has: one refused address refuses
 * the URL (a name that also points inside the network is not a public name). Returns the
 * address to connect to, so the connection goes where the check looked.
 */
export async function resolveAllowed(url: URL, allowed: AllowedNetworks): Promise<Resolution> {
  const host = hostOf(url);
  const literal = isIP(host);
  let addresses: { address: string; family: number }[];
  if (literal) {
    addresses = [{ address: host, family: literal }];
  } else {
    try {
      addresses = await lookup(host, { all: true, verbatim: true });
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      return { refused: `the host ${host} does not resolve (${String(code ?? err)})` };
    }
  }
  for (const { address } of addresses) {
    const why = addressRefusal(address, allowed);
    if (why) return { refused: literal ? why : `${host} resolves to ${why}` };
  }
  const first = addresses[0];
  if (!first) return { refused: `the host ${host} has no address` };
  return { address: first.address, family: first.family === 6 ? 6 : 4 };
}
