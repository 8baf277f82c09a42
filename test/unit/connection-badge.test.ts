/** The connection badge from a selected candidate pair, the transfer-wide badge, and the ICE-failure advice. */
import type { CandidateType, SelectedPair } from '@ringswarm/shared';
import { describe, expect, it } from 'vitest';
import { BADGE_LABELS, badgeOf, noRouteAdvice, overallBadge } from '../../web-client/src/connection-badge.js';

const pair = (local: CandidateType, remote: CandidateType): SelectedPair => ({
  local: { type: local, address: '192.168.1.20', port: 50000, protocol: 'udp' },
  remote: { type: remote, address: '203.0.113.7', port: 40000, protocol: 'udp' },
});

describe('badgeOf', () => {
  it('host on both ends is the same network', () => {
    expect(badgeOf(pair('host', 'host'))).toBe('same-network');
  });

  it('a reflexive end (srflx or prflx) without a relay is direct across NAT, whichever side it is on', () => {
    for (const [l, r] of [
      ['srflx', 'srflx'],
      ['host', 'srflx'],
      ['srflx', 'host'],
      ['prflx', 'host'],
      ['host', 'prflx'],
      ['prflx', 'srflx'],
    ] as const) {
      expect(badgeOf(pair(l, r)), `${l}/${r}`).toBe('direct-nat');
    }
  });

  it('a relay on either side is relayed, whatever the other side is', () => {
    for (const other of ['host', 'srflx', 'prflx', 'relay'] as const) {
      expect(badgeOf(pair('relay', other))).toBe('relayed');
      expect(badgeOf(pair(other, 'relay'))).toBe('relayed');
    }
  });

  it('labels are the words the page shows', () => {
    expect(BADGE_LABELS).toEqual({
      'same-network': 'same network',
      'direct-nat': 'direct across NAT',
      relayed: 'relayed (TURN)',
    });
  });
});

describe('overallBadge', () => {
  it('is null with no peer', () => {
    expect(overallBadge([])).toBeNull();
  });

  it('follows the bytes: one relayed peer that moved most outweighs two direct ones', () => {
    expect(
      overallBadge([
        { badge: 'same-network', bytes: 100 },
        { badge: 'same-network', bytes: 200 },
        { badge: 'relayed', bytes: 1_000 },
      ]),
    ).toBe('relayed');
    expect(
      overallBadge([
        { badge: 'direct-nat', bytes: 600 },
        { badge: 'direct-nat', bytes: 600 },
        { badge: 'relayed', bytes: 1_000 },
      ]),
    ).toBe('direct-nat');
  });

  it('counts peers before any byte moved', () => {
    expect(
      overallBadge([
        { badge: 'relayed', bytes: 0 },
        { badge: 'direct-nat', bytes: 0 },
        { badge: 'direct-nat', bytes: 0 },
      ]),
    ).toBe('direct-nat');
  });

  it('a tie goes to the less direct way', () => {
    expect(
      overallBadge([
        { badge: 'same-network', bytes: 500 },
        { badge: 'direct-nat', bytes: 500 },
      ]),
    ).toBe('direct-nat');
    expect(
      overallBadge([
        { badge: 'same-network', bytes: 0 },
        { badge: 'relayed', bytes: 0 },
      ]),
    ).toBe('relayed');
  });
});

describe('noRouteAdvice', () => {
  it('names the missing STUN/TURN when the server offered none', () => {
    const text = noRouteAdvice(0);
    expect(text).toMatch(/offers no STUN or TURN/);
    expect(text).toMatch(/built-in STUN/);
    expect(text).toMatch(/TURN/);
  });

  it('names a symmetric NAT and a firewall blocking UDP when STUN/TURN was offered', () => {
    const text = noRouteAdvice(1);
    expect(text).not.toMatch(/offers no STUN/);
    expect(text).toMatch(/symmetric NAT/);
    expect(text).toMatch(/firewall blocking UDP/);
    expect(text).toMatch(/add a TURN server/);
  });
});
