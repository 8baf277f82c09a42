/**
 * How bytes flow between this browser and a peer, in three words a person understands,
 * from the candidate pair ICE selected: both ends host candidates → "same network"; a
 * server- or peer-reflexive end and no relay → "direct across NAT"; a relay on either side
 * → "relayed (TURN)". The transfer as a whole gets the badge that carries most bytes (or
 * most peers, before any byte moved).
 */
import type { SelectedPair } from '@ringswarm/shared';

/** The `data-badge` values: a contract with the tests (and the NAT lab). */
export type Badge = 'same-network' | 'direct-nat' | 'relayed';

export const BADGE_LABELS: Record<Badge, string> = {
  'same-network': 'same network',
  'direct-nat': 'direct across NAT',
  relayed: 'relayed (TURN)',
};

/** Less direct first: on a tie, the transfer-wide badge says the less direct way. */
const ORDER: readonly Badge[] = ['relayed', 'direct-nat', 'same-network'];

export function badgeOf(pair: SelectedPair): Badge {
  const types = [pair.local.type, pair.remote.type];
  if (types.includes('relay')) return 'relayed';
  if (types.includes('srflx') || types.includes('prflx')) return 'direct-nat';
  return 'same-network';
}

/** The badge of the transfer: the one with the most bytes moved, else the one of most peers; null with no peer. */
export function overallBadge(peers: readonly { badge: Badge; bytes: number }[]): Badge | null {
  if (peers.length === 0) return null;
  const bytes = new Map<Badge, number>();
  const count = new Map<Badge, number>();
  for (const p of peers) {
    bytes.set(p.badge, (bytes.get(p.badge) ?? 0) + Math.max(0, p.bytes));
    count.set(p.badge, (count.get(p.badge) ?? 0) + 1);
  }
  const anyBytes = [...bytes.values()].some((b) => b > 0);
  const weight = anyBytes ? bytes : count;
  let best: Badge | null = null;
  for (const badge of ORDER) {
    const w = weight.get(badge) ?? 0;
    if (w > 0 && (best === null || w > (weight.get(best) ?? 0))) best = badge;
  }
  return best;
}

/** What an ICE failure most likely means, and what the server's operator can do about it. */
export function noRouteAdvice(iceServers: number): string {
  const cause =
    iceServers === 0
      ? 'This server offers no STUN or TURN server, so browsers on different networks cannot find a way to each other.'
      : 'The likely causes: a symmetric NAT on one side (STUN alone cannot get through it), or a firewall blocking UDP.';
  return `Could not connect to a peer. ${cause} The server's operator can start it with its built-in STUN server (the default \`npm start\`, UDP port 3478 open), and add a TURN server (--turn-url, --turn-secret) for peers behind symmetric NATs or strict firewalls.`;
}
