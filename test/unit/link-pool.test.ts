/**
 * LinkPool on fake links and a fake clock: the connection budget (who is evicted for whom),
 * the idle sweep, the first-frame check that picks a link's swarm, and destroy.
 */
import {
  ErrorCode,
  HELLO_FRAME,
  IDLE_LINK_MS,
  IDLE_SWEEP_MS,
  LinkPool,
  type LinkPoolDeps,
  SWARM_HANDSHAKE,
  type SwarmPort,
} from '@ringswarm/shared';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../helpers/fake-clock.js';
import { newPeerId } from '../helpers/fake-link.js';
import { FakeLinkFactory } from '../helpers/fake-peer-link.js';

const DISCOVERY_KEY = 'ab'.repeat(32);

function handshake(discoveryKey: string): Uint8Array {
  const frame = new Uint8Array(SWARM_HANDSHAKE.length);
  frame[0] = SWARM_HANDSHAKE.type;
  frame[SWARM_HANDSHAKE.versionOffset] = 2;
  for (let i = 0; i < 32; i++)
    frame[SWARM_HANDSHAKE.discoveryKeyOffset + i] = Number.parseInt(discoveryKey.slice(2 * i, 2 * i + 2), 16);
  frame.fill(0x5a, SWARM_HANDSHAKE.nonceOffset);
  return frame;
}

function setup(maxLinks: number, overrides: Partial<LinkPoolDeps> = {}) {
  const clock = new FakeClock();
  const links = new FakeLinkFactory();
  const pointers = new Set<string>();
  const pool = new LinkPool(
    {
      peerId: newPeerId(),
      clock,
      createLink: links.create,
      linkOptions: {},
      isPointer: (id) => pointers.has(id),
      swarmFor: () => null,
      ringMember: true,
      ...overrides,
    },
    maxLinks,
  );
  const closes: [string, string | undefined, boolean][] = [];
  pool.on('link-close', (id, code, _discoveryKey, failed) => closes.push([id, code, failed]));
  return { clock, links, pointers, pool, closes };
}

describe('the connection budget', () => {
  it('keeps ring pointers, evicts idle links first, and swarm links only for the ring', () => {
    const { clock, pool, pointers, closes } = setup(3);
    const [pointer, idle, swarmA, swarmB, late] = [newPeerId(), newPeerId(), newPeerId(), newPeerId(), newPeerId()];
    pointers.add(pointer);
    expect(pool.create(pointer, true, true)).not.toBeNull();
    clock.advance(10);
    expect(pool.create(idle, true, false)).not.toBeNull();
    clock.advance(10);
    pool.attach(pool.create(swarmA, true, false)!, 'aa'.repeat(32), () => {});
    expect(pool.size).toBe(3);

    // Full: a swarm link takes the idle link's slot, though the idle link is newer than the pointer.
    clock.advance(10);
    const b = pool.create(swarmB, true, false)!;
    expect(b).not.toBeNull();
    pool.attach(b, 'bb'.repeat(32), () => {});
    expect(closes).toEqual([[idle, ErrorCode.TOO_MANY_LINKS, false]]);

    // Full of a pointer and swarm links: another swarm link is refused...
    expect(pool.create(late, true, false)).toBeNull();
    expect(pool.size).toBe(3);
    // ...but the ring takes the least recently active swarm link's slot; the pointer stays.
    expect(pool.create(late, true, true)).not.toBeNull();
    expect(closes[1]).toEqual([swarmA, ErrorCode.TOO_MANY_LINKS, false]);
    expect(pool.get(pointer)).toBeDefined();
    expect(pool.get(swarmB)).toBeDefined();
    expect(pool.size).toBe(3);
  });

  it('evicts the idle link that was silent longest, not the oldest one', () => {
    const { clock, links, pool, closes } = setup(2);
    const [first, second, third] = [newPeerId(), newPeerId(), newPeerId()];
    // Set up through verified signals (the router marks such links), so ring frames count.
    pool.create(first, true, false)!.proven = true;
    clock.advance(10);
    pool.create(second, true, false);
    clock.advance(10);
    // The older link spoke last.
    links.last(first).open();
    links.last(first).receive(HELLO_FRAME);
    pool.create(third, true, false);
    expect(closes.map(([id]) => id)).toEqual([second]);
  });

  it('refuses when only pointers are left, even for the ring', () => {
    const { pool, pointers } = setup(1);
    const pointer = newPeerId();
    pointers.add(pointer);
    pool.create(pointer, true, true);
    expect(pool.create(newPeerId(), true, true)).toBeNull();
    expect(pool.get(pointer)).toBeDefined();
  });
});

describe('the idle sweep', () => {
  it('closes a link that carries nothing after 60 s of silence, never a pointer or a swarm link', () => {
    const { clock, links, pool, pointers, closes } = setup(8);
    const [idle, pointer, swarm, chatty] = [newPeerId(), newPeerId(), newPeerId(), newPeerId()];
    pointers.add(pointer);
    for (const id of [idle, pointer, swarm, chatty]) pool.create(id, true, false);
    pool.get(chatty)!.proven = true;
    pool.attach(pool.get(swarm)!, DISCOVERY_KEY, () => {});

    clock.advance(IDLE_LINK_MS - 1_000);
    links.last(chatty).open();
    links.last(chatty).receive(HELLO_FRAME);
    clock.advance(1_000);
    // Idle for exactly 60 s: not yet past the limit.
    expect(closes).toEqual([]);
    // The next sweep finds it past the limit.
    clock.advance(IDLE_SWEEP_MS);
    expect(closes).toEqual([[idle, undefined, false]]);
    expect(pool.get(idle)).toBeUndefined();

    clock.advance(10 * IDLE_LINK_MS);
    expect(closes.map(([id]) => id)).toEqual([idle, chatty]);
    expect(pool.get(pointer)).toBeDefined();
    expect(pool.get(swarm)).toBeDefined();
  });
});

describe('frames on a new link', () => {
  it('hands a link whose handshake names a swarm of ours to that swarm, with the handshake', () => {
    const attached: [string, Uint8Array][] = [];
    const { links, pool } = setup(4, {
      swarmFor: (discoveryKey) =>
        discoveryKey === DISCOVERY_KEY
          ? { attach: (port: SwarmPort, first: Uint8Array) => attached.push([port.remoteId, first]) }
          : null,
    });
    const remote = newPeerId();
    const entry = pool.create(remote, false, false)!;
    const hs = handshake(DISCOVERY_KEY);
    links.last(remote).receive(hs);
    expect(attached).toEqual([[remote, hs]]);
    expect(entry.discoveryKey).toBe(DISCOVERY_KEY);
  });

  it('passes the link’s WebRTC role and DTLS fingerprints through to the swarm', () => {
    const ports: SwarmPort[] = [];
    const { links, pool } = setup(4, { swarmFor: () => ({ attach: (port: SwarmPort) => ports.push(port) }) });
    const [answerer, offerer] = [newPeerId(), newPeerId()];
    pool.create(answerer, false, false);
    links.last(answerer).receive(handshake(DISCOVERY_KEY));
    const entry = pool.create(offerer, true, false)!;
    pool.attach(entry, DISCOVERY_KEY, (port) => ports.push(port));
    links.last(offerer).fingerprintPair = { local: 'sha-256 AA', remote: 'sha-256 BB' };
    links.last(offerer).open();
    expect(ports.map((p) => [p.remoteId, p.initiator, p.fingerprints()])).toEqual([
      [answerer, false, links.last(answerer).fingerprints()],
      [offerer, true, { local: 'sha-256 AA', remote: 'sha-256 BB' }],
    ]);
    links.last(offerer).fingerprintPair = null;
    expect(ports[1]?.fingerprints()).toBeNull();
  });

  it.each([
    ['a handshake for a swarm we do not run', handshake('cd'.repeat(32)), ErrorCode.BAD_HANDSHAKE],
    [
      'a truncated handshake',
      handshake(DISCOVERY_KEY).subarray(0, SWARM_HANDSHAKE.length - 1),
      ErrorCode.BAD_HANDSHAKE,
    ],
    ['another swarm frame before the handshake', Uint8Array.of(0x11, 0xff), ErrorCode.BAD_HANDSHAKE],
    ['a frame of no protocol', Uint8Array.of(0x42), ErrorCode.BAD_FRAME],
  ])('closes a link whose first frame is %s', (_what, frame, code) => {
    const { links, pool, closes } = setup(4, {
      swarmFor: (key) => (key === DISCOVERY_KEY ? { attach: () => {} } : null),
    });
    const remote = newPeerId();
    pool.create(remote, false, false);
    links.last(remote).receive(frame);
    expect(links.last(remote).closeCode).toBe(code);
    expect(closes).toEqual([[remote, code, true]]);
  });

  it('marks a peer that says HELLO as one that routes signals, and passes other overlay frames on', () => {
    const { links, pool } = setup(4);
    const remote = newPeerId();
    pool.create(remote, true, false)!.proven = true;
    const overlay: [string, number | undefined][] = [];
    pool.on('overlay-frame', (from, frame) => overlay.push([from, frame[0]]));
    links.last(remote).open();
    expect([...pool.routablePeers()]).toEqual([]);
    links.last(remote).receive(HELLO_FRAME);
    links.last(remote).receive(Uint8Array.of(0x20, 0x7b, 0x7d));
    expect([...pool.routablePeers()]).toEqual([remote]);
    expect(overlay).toEqual([[remote, 0x20]]);
  });

  it('hands back the same routable peers until a link opens, says HELLO or closes', () => {
    const { links, pool } = setup(4);
    const [a, b] = [newPeerId(), newPeerId()];
    for (const remote of [a, b]) pool.create(remote, true, false)!.proven = true;
    links.last(a).open();
    links.last(a).receive(HELLO_FRAME);
    const first = pool.routablePeers();
    expect(first).toEqual([a]);
    expect(pool.routablePeers()).toBe(first);
    // b said HELLO over a link that was not open yet: it routes once the link opens.
    links.last(b).receive(HELLO_FRAME);
    expect(pool.routablePeers()).toEqual([a]);
    links.last(b).open();
    expect(pool.routablePeers()).toEqual([a, b]);
    links.last(a).close();
    expect(pool.routablePeers()).toEqual([b]);
    // A HELLO with a body takes the claim back.
    links.last(b).receive(Uint8Array.of(HELLO_FRAME[0]!, 0));
    expect(pool.routablePeers()).toEqual([]);
  });

  it('refuses overlay frames from a link not set up through verified signals (ERR_BAD_SIGNATURE)', () => {
    const { links, pool, closes } = setup(4);
    const remote = newPeerId();
    expect(pool.create(remote, true, false)!.proven).toBe(false);
    const overlay: string[] = [];
    pool.on('overlay-frame', (from) => overlay.push(from));
    links.last(remote).open();
    links.last(remote).receive(Uint8Array.of(0x20, 0x7b, 0x7d));
    expect(overlay).toEqual([]);
    expect(closes).toEqual([[remote, ErrorCode.BAD_SIGNATURE, true]]);
  });

  it('says HELLO on every link it opens when this peer is a ring member, and not otherwise', () => {
    for (const ringMember of [true, false]) {
      const { links, pool } = setup(4, { ringMember });
      const remote = newPeerId();
      pool.create(remote, true, false);
      links.last(remote).open();
      expect(links.last(remote).sent).toEqual(ringMember ? [HELLO_FRAME] : []);
    }
  });

  it('asks whether it is a member as each link opens, and says HELLO on the open ones once it became one', () => {
    let member = false;
    const { links, pool } = setup(4, { ringMember: () => member });
    const [early, opening, late] = [newPeerId(), newPeerId(), newPeerId()];
    pool.create(early, true, false);
    links.last(early).open();
    pool.create(opening, true, false);
    // A leaf says nothing: no one routes through it.
    expect(links.last(early).sent).toEqual([]);
    member = true;
    pool.announceMember();
    expect(links.last(early).sent).toEqual([HELLO_FRAME]);
    // A link still opening says it as it opens, and so does every new one.
    expect(links.last(opening).sent).toEqual([]);
    links.last(opening).open();
    expect(links.last(opening).sent).toEqual([HELLO_FRAME]);
    pool.create(late, true, false);
    links.last(late).open();
    expect(links.last(late).sent).toEqual([HELLO_FRAME]);
  });
});

describe('destroy', () => {
  it('closes every link, clears its timer, emits close last, and is idempotent', () => {
    const { clock, links, pool, closes } = setup(4);
    const ports: string[] = [];
    const remote = newPeerId();
    pool.attach(pool.create(remote, true, false)!, DISCOVERY_KEY, (port) => port.on('close', () => ports.push('port')));
    links.last(remote).open();
    pool.create(newPeerId(), true, false);
    const events: string[] = [];
    pool.on('close', () => events.push('close'));
    pool.on('link-open', () => events.push('link-open'));

    pool.destroy();
    pool.destroy();
    expect(events).toEqual(['close']);
    expect(links.made.every((l) => l.destroyed)).toBe(true);
    expect(ports).toEqual(['port']);
    expect(closes).toEqual([]);
    expect(pool.size).toBe(0);
    expect(clock.pending).toBe(0);
    expect(pool.create(newPeerId(), true, true)).toBeNull();
  });
});
