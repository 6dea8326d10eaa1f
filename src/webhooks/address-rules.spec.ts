import { addressRefusal, parseNetworks } from './address-rules';

describe('webhook address rules', () => {
  const none = parseNetworks([]);

  it.each([
    ['127.0.0.1', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['::ffff:10.0.0.1', 'private'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456::1', 'unique-local'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
  ])('refuses %s as %s', (address, rule) => {
    expect(addressRefusal(address, none)).toMatch(new RegExp(`an? ${rule}`));
  });

  it.each(['93.184.215.14', '8.8.8.8', '172.32.0.1', '2606:4700::1111', '::ffff:8.8.8.8'])(
    'accepts the public address %s',
    (address) => {
      expect(addressRefusal(address, none)).toBeNull();
    },
  );

  it('accepts what WEBHOOK_ALLOWED_NETWORKS names, and only that', () => {
    const allowed = parseNetworks(['10.20.0.0/16', '127.0.0.1/32', 'fd00::/8']);
    expect(addressRefusal('10.20.5.5', allowed)).toBeNull();
    expect(addressRefusal('::ffff:10.20.5.5', allowed)).toBeNull();
    expect(addressRefusal('127.0.0.1', allowed)).toBeNull();
    expect(addressRefusal('fd00::5', allowed)).toBeNull();
    expect(addressRefusal('10.21.0.1', allowed)).toContain('private');
    expect(addressRefusal('127.0.0.2', allowed)).toContain('loopback');
    expect(addressRefusal('169.254.169.254', allowed)).toContain('link-local');
  });
});
