/**
 * The DHT attacks of issue 17, each tried as an attacker on the ring would: forged and flooded
 * provider records, replica floods, TTLs past the cap, forged name records.
 */
import {
  DHT_MAX_KEYS_PER_SENDER,
  DHT_MAX_RECORDS,
  DHT_MAX_TTL_MS,
  DHT_PUBLISH_INTERVAL_MS,
  DHT_REPUBLISH_FRACTION,
  type DhtStore,
  decodeRingMessage,
  encodeNameValue,
  encodeRingFrame,
  encodeRingMessage,
  identityFromSeed,
  MAX_OVERLAY_FRAME_BYTES,
  OVERLAY_RECORD_TTL_MS,
  type PeerIdentity,
  ProviderRecords,
  type RingMessage,
  sha256,
  verifyNameValue,
} from '@ringswarm/shared';
import { describe, expect, it } from 'vitest';
import { SimNetwork } from '../sim/network.js';

const MIN = 60_000;
const DAY = 24 * 60 * MIN;

/** A settled ring of `ids` on m bits, each node with a DHT store. */
function ring(ids: bigint[], bits: number, replicas = 2): SimNetwork {
  const net = new SimNetwork({ seed: 7, bits, node: { successors: 3 } });
  const [first, ...rest] = ids;
  const h0 = net.addHost(first!);
  h0.node.create();
  net.attachDht(h0, { replicas });
  for (const id of rest) {
    const h = net.addHost(id);
    net.attachDht(h, { replicas });
    h.node.join(first!);
    net.queue.runUntil(net.now + 5_000);
  }
  net.queue.runUntil(net.now + 5 * MIN);
  return net;
}

const dht = (net: SimNetwork, id: bigint): DhtStore => net.hosts.get(id)!.dht!;

/**
 * Delivers a frame as the overlay does: decoded (a malformed frame is dropped, and counted
 * here), then handled as coming from `from`, the link's proven remote.
 */
function inject(net: SimNetwork, to: bigint, from: bigint, raw: unknown): boolean {
  let msg: RingMessage;
  try {
    msg = decodeRingMessage(net.space, raw);
  } catch {
    return false;
  }
  net.hosts.get(to)!.node.handle(from, msg);
  return true;
}

function provide(net: SimNetwork, from: bigint, key: bigint, ttlMs = 20 * MIN): void {
  dht(net, from).provide(key, ttlMs);
  net.queue.runUntil(net.now + 10_000);
}

describe('authenticated DHT: provider records', () => {
  // m = 16; 4 nodes. Key 0x3000 is owned by 0x4000.
  const ids = [0x1000n, 0x4000n, 0x8000n, 0xc000n];
  const key = 0x3000n;

  it('the TTL cap is twice the clients’ publish interval', () => {
    expect(DHT_PUBLISH_INTERVAL_MS).toBe(OVERLAY_RECORD_TTL_MS * DHT_REPUBLISH_FRACTION);
    expect(DHT_MAX_TTL_MS).toBe(2 * DHT_PUBLISH_INTERVAL_MS);
  });

  it('256 forged puts with a 24 h TTL neither evict honest providers nor store values the senders did not prove', () => {
    const net = ring(ids, 16);
    const honest = [0x1000n, 0x8000n, 0xc000n];
    for (const h of honest) provide(net, h, key);
    const owner = dht(net, 0x4000n);
    expect(owner.localValues(key).sort()).toEqual(['1000', '8000', 'c000']);
    // 256 fake senders, each sending the frames an attacker would: a value of its choosing
    // (a victim's ID or a made-up one) with a 24 h TTL, the same without a value, and a
    // provider put at the longest TTL allowed.
    const forgedValues = new Set<string>();
    const senders: string[] = [];
    for (let i = 0; i < 256; i++) {
      const from = 0x5000n + BigInt(i);
      const hex = net.space.toHex(from);
      senders.push(hex);
      const forged = (0x9000 + i).toString(16);
      forgedValues.add(forged);
      inject(net, 0x4000n, from, { type: 'dht-put', rid: i, key: '3000', value: forged, ttlMs: DAY });
      inject(net, 0x4000n, from, { type: 'dht-put', rid: i, key: '3000', value: '1000', ttlMs: DAY });
      inject(net, 0x4000n, from, { type: 'dht-put', rid: i, kind: 'provider', key: '3000', ttlMs: DAY });
      inject(net, 0x4000n, from, { type: 'dht-put', rid: i, kind: 'provider', key: '3000', ttlMs: DHT_MAX_TTL_MS });
    }
    net.queue.runUntil(net.now + 10_000);
    const values = owner.localValues(key);
    // The honest providers are all still there, and every other value is a sender's own ID.
    for (const h of ['1000', '8000', 'c000']) expect(values).toContain(h);
    const allowed = new Set(['1000', '8000', 'c000', ...senders]);
    expect(values.filter((v) => !allowed.has(v))).toEqual([]);
    expect(values.filter((v) => forgedValues.has(v))).toEqual([]);
    expect(values.length).toBeLessThanOrEqual(256);
    // Replicas hold the same honest providers.
    expect(dht(net, 0x8000n).localValues(key)).toEqual(expect.arrayContaining(['1000', '8000', 'c000']));
    // Half an hour later (no republish from the fakes) only what was republished is alive:
    // no record outlives the TTL cap.
    net.queue.runUntil(net.now + DHT_MAX_TTL_MS + MIN);
    expect(owner.localValues(key).sort()).toEqual(['1000', '8000', 'c000']);
  });

  it('a flood of 2,000 puts from one sender stays within its quota and leaves honest providers', () => {
    const net = ring(ids, 16);
    provide(net, 0x1000n, key);
    provide(net, 0x8000n, key);
    const owner = dht(net, 0x4000n);
    const before = owner.recordCount;
    // Keys 0x2000..0x27cf are all owned by 0x4000.
    for (let i = 0; i < 2000; i++) {
      inject(net, 0x4000n, 0x9999n, {
        type: 'dht-put',
        rid: i,
        kind: 'provider',
        key: net.space.toHex(0x2000n + BigInt(i)),
        ttlMs: DHT_MAX_TTL_MS,
      });
    }
    expect(owner.recordCount).toBe(before + DHT_MAX_KEYS_PER_SENDER);
    expect(owner.localValues(key).sort()).toEqual(['1000', '8000']);
    // The sender's newest keys are the ones kept.
    expect(owner.localValues(0x2000n + 1999n)).toEqual(['9999']);
    expect(owner.localValues(0x2000n)).toEqual([]);
  });

  it('caps a put’s TTL: the record is gone twice the publish interval later', () => {
    const net = ring(ids, 16);
    // Asked for a day; publishing stops at once, so only the first put's record can live.
    dht(net, 0x1000n).provide(key, DAY);
    dht(net, 0x1000n).unprovide(key);
    net.queue.runUntil(net.now + 10_000);
    expect(dht(net, 0x4000n).localValues(key)).toEqual(['1000']);
    net.queue.runUntil(net.now + DHT_MAX_TTL_MS);
    expect(dht(net, 0x4000n).localValues(key)).toEqual([]);
    // On the wire a TTL past the cap is malformed.
    expect(inject(net, 0x4000n, 0x9999n, { type: 'dht-put', rid: 1, kind: 'provider', key: '3000', ttlMs: DAY })).toBe(
      false,
    );
  });
});

describe('authenticated DHT: replicas only from ring neighbours', () => {
  // m = 16, 8 nodes, 2 copies: 0x6000 takes copies from 0x4000 (its predecessor), 0x2000
  // (the owner one behind it), 0x0000 (slack for a join the owner has not seen yet), and a
  // hand-over from 0x8000 (its successor).
  const ids = [0x0000n, 0x2000n, 0x4000n, 0x6000n, 0x8000n, 0xa000n, 0xc000n, 0xe000n];
  const target = 0x6000n;
  const honestKey = 0x5800n; // owned by 0x6000

  /** Frame i of a flood: 256 provider records under keys and with values drawn from i. */
  function floodFrame(net: SimNetwork, i: number): RingMessage {
    const records = [];
    for (let j = 0; j < 256; j++) {
      const n = i * 256 + j;
      records.push({
        kind: 'provider' as const,
        key: BigInt(n % 0x10000),
        value: net.space.toHex(BigInt((n * 7919) % 0x10000)),
        ttlMs: DHT_MAX_TTL_MS,
      });
    }
    return { type: 'dht-store', records };
  }

  it('drops a flood of 2,000 dht-store frames from a node that does not replicate to us, and counts it', () => {
    const net = ring(ids, 16);
    provide(net, 0x0000n, honestKey);
    const store = dht(net, target);
    expect(store.localValues(honestKey)).toEqual(['0000']);
    const before = store.recordCount;
    // A ring member ahead of us, and a node that is no member at all.
    for (const from of [0xa000n, 0x7777n]) {
      for (let i = 0; i < 1000; i++) net.hosts.get(target)!.node.handle(from, floodFrame(net, i));
    }
    expect(store.recordCount).toBe(before);
    expect(store.dropped['not-neighbour']).toBe(2000);
    expect(store.localValues(honestKey)).toEqual(['0000']);
  });

  it('keeps a flood of 2,000 dht-store frames from a neighbour under the global cap, honest records kept', () => {
    const net = ring(ids, 16);
    provide(net, 0x0000n, honestKey);
    provide(net, 0xc000n, honestKey);
    const store = dht(net, target);
    expect(store.localValues(honestKey).sort()).toEqual(['0000', 'c000']);
    const node = net.hosts.get(target)!.node;
    expect(node.predecessor).toBe(0x4000n);
    for (let i = 0; i < 2000; i++) node.handle(0x4000n, floodFrame(net, i));
    expect(store.recordCount).toBeLessThanOrEqual(DHT_MAX_RECORDS);
    expect(store.recordCount).toBeGreaterThan(DHT_MAX_RECORDS / 2);
    expect(store.dropped['not-neighbour']).toBe(0);
    expect(store.localValues(honestKey)).toEqual(expect.arrayContaining(['0000', 'c000']));
  });

  it('takes copies from the nodes behind its predecessor within the replica window, not further', () => {
    const net = ring(ids, 16);
    const store = dht(net, target);
    const node = net.hosts.get(target)!.node;
    node.handle(0x2000n, {
      type: 'dht-store',
      records: [{ kind: 'provider', key: 0x3000n, value: '1234', ttlMs: DHT_MAX_TTL_MS }],
    });
    expect(store.localValues(0x3000n)).toEqual(['1234']);
    node.handle(0x0000n, {
      type: 'dht-store',
      records: [{ kind: 'provider', key: 0xf000n, value: '1234', ttlMs: DHT_MAX_TTL_MS }],
    });
    expect(store.localValues(0xf000n)).toEqual(['1234']);
    // Three behind the predecessor is outside a 2-copy window.
    node.handle(0xe000n, {
      type: 'dht-store',
      records: [{ kind: 'provider', key: 0xd000n, value: '1234', ttlMs: DHT_MAX_TTL_MS }],
    });
    expect(store.localValues(0xd000n)).toEqual([]);
    expect(store.dropped['not-neighbour']).toBe(1);
  });
});

/** Identities whose ring IDs on m = 16 (top 16 bits of the peer ID) are spread out. */
function identities(n: number): PeerIdentity[] {
  return Array.from({ length: n }, (_, i) => identityFromSeed(new Uint8Array(32).fill(i + 1)));
}

/** The ring ID of an identity on m = 16: the top 16 bits of its peer ID. */
const ringIdOf = (identity: PeerIdentity): bigint => BigInt(`0x${identity.peerId.slice(0, 4)}`);

async function nameKey(net: SimNetwork, name: string): Promise<bigint> {
  return net.space.fromBytes(await sha256(new TextEncoder().encode(name)));
}

/** Runs the virtual clock while promises (hashing, signing) settle in between. */
async function settle(net: SimNetwork, rounds = 6): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    net.queue.runUntil(net.now + 5_000);
  }
}

function recordsOf(net: SimNetwork, identity: PeerIdentity): ProviderRecords {
  const host = net.hosts.get(ringIdOf(identity))!;
  const ring = {
    peerId: net.space.toHex(host.id),
    space: net.space,
    dht: host.dht!,
    get joined() {
      return host.node.joined;
    },
    get destroyed() {
      return host.dht!.destroyed;
    },
    recordTtlMs: 20 * MIN,
  };
  return new ProviderRecords(ring, identity, (err) => {
    throw err;
  });
}

describe('authenticated DHT: signed name records', () => {
  const infoHash = 'ab'.repeat(32);
  const other = 'cd'.repeat(32);

  it('a public name round-trips through the ring', async () => {
    const [a, b, c] = identities(3);
    const net = ring([a!, b!, c!].map(ringIdOf), 16);
    await recordsOf(net, a!).publishName('movie.mkv', infoHash);
    await settle(net);
    const found = recordsOf(net, c!).searchByName('movie.mkv');
    await settle(net);
    expect(await found).toEqual([infoHash]);
  });

  it('a name record with a bad signature, for another key, or not from its publisher is not stored', async () => {
    const [a, b, c] = identities(3);
    const net = ring([a!, b!, c!].map(ringIdOf), 16);
    const key = await nameKey(net, 'movie.mkv');
    const owner = [...net.hosts.values()].find((h) => h.node.owns(key))!;
    const sender = [...net.hosts.values()].find((h) => h !== owner)!;
    const senderIdentity = [a!, b!, c!].find((i) => ringIdOf(i) === sender.id)!;
    const good = await encodeNameValue(net.space, key, infoHash, senderIdentity);
    expect(verifyNameValue(net.space, key, good)).toEqual({ infoHash, publisher: senderIdentity.peerId });
    const last = good.at(-1) === '0' ? '1' : '0';
    const badSignature = good.slice(0, -1) + last;
    const otherKey = await encodeNameValue(net.space, key ^ 1n, infoHash, senderIdentity);
    const swapped = `${other}${good.slice(64)}`;
    const byStranger = await encodeNameValue(net.space, key, other, identityFromSeed(new Uint8Array(32).fill(99)));
    const replies: unknown[] = [];
    net.onDeliver = (_from, to, msg) => {
      if (to === sender.id && msg.type === 'dht-put-reply') replies.push(msg.ok);
    };
    for (const value of [badSignature, otherKey, swapped, byStranger]) {
      expect(
        inject(net, owner.id, sender.id, {
          type: 'dht-put',
          rid: 1,
          kind: 'name',
          key: net.space.toHex(key),
          value,
          ttlMs: DHT_MAX_TTL_MS,
        }),
      ).toBe(true);
    }
    // Also as copies from the owner's predecessor.
    owner.node.handle(owner.node.predecessor!, {
      type: 'dht-store',
      records: [badSignature, otherKey, swapped].map((value) => ({
        kind: 'name' as const,
        key,
        value,
        ttlMs: DHT_MAX_TTL_MS,
      })),
    });
    net.queue.runUntil(net.now + 10_000);
    expect(owner.dht!.localValues(key)).toEqual([]);
    expect(replies).toEqual([false, false, false, false]);
    expect(owner.dht!.dropped['bad-signature']).toBe(3 + 3);
    expect(owner.dht!.dropped['not-publisher']).toBe(1);
    // The genuine one is taken.
    inject(net, owner.id, sender.id, {
      type: 'dht-put',
      rid: 2,
      kind: 'name',
      key: net.space.toHex(key),
      value: good,
      ttlMs: DHT_MAX_TTL_MS,
    });
    expect(owner.dht!.localValues(key)).toEqual([good]);
  });

  it('searchByName returns only infohashes whose records verify', async () => {
    const [a] = identities(1);
    const net = new SimNetwork({ seed: 1, bits: 16 });
    const key = await nameKey(net, 'movie.mkv');
    const good = await encodeNameValue(net.space, key, infoHash, a!);
    const forged = `${other}${good.slice(64)}`;
    const wrongKey = await encodeNameValue(net.space, key ^ 1n, other, a!);
    // A holder that answers whatever it likes.
    const lying = {
      get: (_key: bigint, callback: (r: { values: string[]; error: null }) => void) =>
        callback({ values: [forged, wrongKey, good, 'ef'.repeat(32)], error: null }),
    };
    const records = new ProviderRecords(
      {
        peerId: a!.peerId,
        space: net.space,
        // Only get is used by searchByName.
        dht: lying as unknown as DhtStore,
        joined: true,
        destroyed: false,
        recordTtlMs: 20 * MIN,
      },
      a!,
      () => {},
    );
    expect(await records.searchByName('movie.mkv')).toEqual([infoHash]);
  });
});

describe('authenticated DHT: name records fit the overlay’s frames', () => {
  it('replicates and answers 300 signed name values in frames under 64 KiB', async () => {
    const [a, b] = identities(2);
    const idOf = (i: PeerIdentity) => BigInt(`0x${i.peerId}`);
    const net = ring([idOf(a!), idOf(b!)], 160, 1);
    const frames: number[] = [];
    net.onDeliver = (_from, _to, msg) => {
      if (msg.type === 'dht-store' || msg.type === 'dht-get-reply')
        frames.push(encodeRingFrame(encodeRingMessage(net.space, msg)).byteLength);
    };
    const key = await nameKey(net, 'popular.iso');
    const values: string[] = [];
    for (let i = 0; i < 300; i++) {
      const infoHash = i.toString(16).padStart(64, '0');
      const value = await encodeNameValue(net.space, key, infoHash, a!);
      values.push(value);
      net.hosts.get(idOf(a!))!.dht!.putName(key, value, DHT_MAX_TTL_MS);
    }
    net.queue.runUntil(net.now + 2 * MIN);
    // Both nodes hold the key's values (owner and its one copy), at most DHT_MAX_VALUES_PER_KEY.
    for (const i of [a!, b!]) expect(dht(net, idOf(i)).localValues(key)).toHaveLength(256);
    let got: string[] = [];
    dht(net, idOf(b!)).get(key, (r) => {
      got = r.values;
    });
    net.queue.runUntil(net.now + 10_000);
    expect(got.length).toBeGreaterThan(100);
    expect(frames.length).toBeGreaterThan(2);
    for (const bytes of frames) expect(bytes).toBeLessThanOrEqual(MAX_OVERLAY_FRAME_BYTES);
  });
});
