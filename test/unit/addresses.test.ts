import { type InterfaceList, originsOf, reachableAddresses, urlHost } from '@ringswarm/signaling-server';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const v4 = (address: string, internal = false) => ({ address, family: 'IPv4', internal });
const v6 = (address: string, internal = false) => ({ address, family: 'IPv6', internal });

/** A laptop on Wi-Fi and Ethernet, with Docker, as os.networkInterfaces() describes it. */
const LAPTOP: InterfaceList = {
  lo: [v4('127.0.0.1', true), v6('::1', true)],
  wlan0: [v4('192.168.1.20'), v6('fe80::1c2b:3aff:fe4d:5e6f'), v6('2001:db8:1::20'), v6('fd12:3456::20')],
  docker0: [v4('172.17.0.1'), v6('fe80::42:acff:fe11:1')],
  eth0: [v4('10.0.0.5'), v4('169.254.10.1'), { address: 'FE80::2%eth0', family: 6, internal: false }],
  tun0: [v4('10.8.0.2')],
};

describe('reachable addresses', () => {
  it('leaves out loopback and link-local, puts IPv4 first and virtual bridges after real interfaces', () => {
    expect(reachableAddresses(LAPTOP)).toEqual([
      '10.0.0.5', // eth0
      '192.168.1.20', // wlan0
      '172.17.0.1', // docker0
      '10.8.0.2', // tun0
      '2001:db8:1::20',
      'fd12:3456::20',
    ]);
  });

  it('is empty on a machine with loopback only', () => {
    expect(reachableAddresses({ lo: [v4('127.0.0.1', true), v6('::1', true)] })).toEqual([]);
    expect(reachableAddresses({})).toEqual([]);
    // Loopback and link-local also when not flagged internal.
    expect(
      reachableAddresses({ x: [v4('127.0.0.2'), v6('::1'), v6('fe80::9'), v6('febf::1'), v4('169.254.0.9')] }),
    ).toEqual([]);
  });

  it('keeps fec0::/10 and other addresses just outside fe80::/10, and drops duplicates', () => {
    expect(
      reachableAddresses({
        a: [v6('fec0::1'), v6('fe7f::1')],
        b: [v6('FEC0::1'), v4('10.0.0.5')],
        c: [v4('10.0.0.5')],
      }),
    ).toEqual(['10.0.0.5', 'fe7f::1', 'fec0::1']);
  });

  it('narrows to what the bind address reaches', () => {
    expect(reachableAddresses(LAPTOP, '::')).toEqual(reachableAddresses(LAPTOP));
    expect(reachableAddresses(LAPTOP, '0.0.0.0')).toEqual(['10.0.0.5', '192.168.1.20', '172.17.0.1', '10.8.0.2']);
    expect(reachableAddresses(LAPTOP, '192.168.1.20')).toEqual(['192.168.1.20']);
    expect(reachableAddresses(LAPTOP, '2001:DB8:1::20')).toEqual(['2001:db8:1::20']);
    expect(reachableAddresses(LAPTOP, '127.0.0.1')).toEqual([]);
    expect(reachableAddresses(LAPTOP, '::1')).toEqual([]);
    expect(reachableAddresses(LAPTOP, 'localhost')).toEqual([]);
  });

  it('gives the same order whatever order the interfaces and their addresses come in', () => {
    const entries = Object.entries(LAPTOP);
    fc.assert(
      fc.property(
        fc.shuffledSubarray(entries, { minLength: entries.length }),
        fc.func(fc.boolean()),
        (shuffled, flip) => {
          const list: InterfaceList = Object.fromEntries(
            shuffled.map(([name, addrs], i) => [name, flip(i) ? [...(addrs ?? [])].reverse() : addrs]),
          );
          expect(reachableAddresses(list)).toEqual(reachableAddresses(LAPTOP));
        },
      ),
    );
  });

  it('brackets IPv6 in URLs', () => {
    expect(urlHost('192.168.1.20')).toBe('192.168.1.20');
    expect(urlHost('2001:db8::1')).toBe('[2001:db8::1]');
    expect(originsOf('https', ['192.168.1.20', '2001:db8::1'], 8080)).toEqual([
      'https://192.168.1.20:8080',
      'https://[2001:db8::1]:8080',
    ]);
  });
});
