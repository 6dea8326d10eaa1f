import ipaddr from 'ipaddr.js';

/** ipaddr.js's range names, as the refusal names them. */
const RANGE_NAMES: Record<string, string> = {
  unspecified: 'unspecified',
  broadcast: 'broadcast',
  multicast: 'multicast',
  linkLocal: 'link-local (169.254.0.0/16, fe80::/10: cloud metadata services live here)',
  loopback: 'loopback',
  carrierGradeNat: 'carrier-grade NAT (100.64.0.0/10)',
  private: 'private (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)',
  uniqueLocal: 'unique-local (fc00::/7)',
  reserved: 'reserved',
  rfc6145: 'IPv4-translated (rfc6145)',
  rfc6052: 'IPv4/IPv6 translation (rfc6052)',
  '6to4': '6to4',
  teredo: 'Teredo',
};

/** The networks an operator allows beyond public addresses (WEBHOOK_ALLOWED_NETWORKS). */
export type AllowedNetworks = [ipaddr.IPv4 | ipaddr.IPv6, number][];

export const parseNetworks = (cidrs: string[]): AllowedNetworks =>
  cidrs.map((cidr) => ipaddr.parseCIDR(cidr));

/** An IPv4-mapped IPv6 address (::ffff:10.0.0.1) is judged as the IPv4 address it is. */
function normalize(address: string): ipaddr.IPv4 | ipaddr.IPv6 {
  const parsed = ipaddr.parse(address);
  return parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()
    ? (parsed as ipaddr.IPv6).toIPv4Address()
    : parsed;
}

function inNetwork(address: ipaddr.IPv4 | ipaddr.IPv6, network: AllowedNetworks[number]): boolean {
  const [range, bits] = network;
  if (address.kind() === range.kind()) {
    return address.kind() === 'ipv4'
      ? (address as ipaddr.IPv4).match(range as ipaddr.IPv4, bits)
      : (address as ipaddr.IPv6).match(range as ipaddr.IPv6, bits);
  }
  // An allowed IPv4 network also covers its IPv4-mapped form, and the reverse.
  if (address.kind() === 'ipv4' && (range as ipaddr.IPv6).isIPv4MappedAddress()) {
    return inNetwork(address, [(range as ipaddr.IPv6).toIPv4Address(), Math.max(0, bits - 96)]);
  }
  return false;
}

/**
 * Why a delivery may not go to `address`, or null when it may: a public unicast address, or
 * one inside an allowed network. Everything else (loopback, link-local, private, CGNAT,
 * unique-local, unspecified, multicast, and their IPv4-mapped forms) is refused.
 */
export function addressRefusal(address: string, allowed: AllowedNetworks): string | null {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = normalize(address);
  } catch {
    return `${address} is not an IP address`;
  }
  if (allowed.some((network) => inNetwork(parsed, network))) return null;
  const range = parsed.range();
  if (range === 'unicast') return null;
  const name = RANGE_NAMES[range] ?? range;
  const article = /^(unspecified|IPv4)/.test(name) ? 'an' : 'a';
  return `${address} is ${article} ${name} address, and WEBHOOK_ALLOWED_NETWORKS does not name it`;
}
