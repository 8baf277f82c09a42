/** PeerWire on its own: per-peer state and the dispatch of inbound frames. */
import { encodeMessage, PeerWire, type PeerWireHandlers, type WireMessage } from '@ringswarm/shared';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../helpers/fake-clock.js';
import { newPeerId, RecordingLink } from '../helpers/fake-link.js';

const INFO_HASH = 'ab'.repeat(32);

/** A wire whose handlers record each call as "name" plus the wire state the handler saw. */
function recordedWire() {
  const calls: string[] = [];
  const errors: string[] = [];
  const link = new RecordingLink(newPeerId());
  const note =
    (name: string) =>
    (wire: PeerWire): void => {
      calls.push(
        `${name} chokedByRemote=${wire.chokedByRemote} peerInterested=${wire.peerInterested} handshaken=${wire.handshaken}`,
      );
    };
  const handlers: PeerWireHandlers = {
    handshake: note('handshake'),
    bitfield: note('bitfield'),
    have: note('have'),
    choke: note('choke'),
    unchoke: note('unchoke'),
    interest: note('interest'),
    request: note('request'),
    piece: note('piece'),
    metadataRequest: note('metadata-request'),
    metadataData: note('metadata-data'),
    metadataReject: note('metadata-reject'),
    drain: note('drain'),
    close: note('close'),
    error: (_wire, error) => errors.push(error.code),
  };
  const wire = new PeerWire(link, { clock: new FakeClock() }, { infoHash: INFO_HASH }, handlers);
  wire.attach();
  const deliver = (msg: WireMessage) => link.receive(encodeMessage(msg));
  const handshake = (overrides: Partial<{ version: number; infoHash: string; peerId: string }> = {}) =>
    deliver({ type: 'handshake', version: 1, infoHash: INFO_HASH, peerId: link.remoteId, ...overrides });
  return { wire, link, calls, errors, deliver, handshake };
}

describe('PeerWire', () => {
  it('updates its own state before it calls the handler of each message', () => {
    const { wire, calls, errors, deliver, handshake } = recordedWire();
    handshake();
    deliver({ type: 'unchoke' });
    deliver({ type: 'interested' });
    deliver({ type: 'choke' });
    deliver({ type: 'not-interested' });
    expect(errors).toEqual([]);
    expect(calls).toEqual([
      'handshake chokedByRemote=true peerInterested=false handshaken=true',
      'unchoke chokedByRemote=false peerInterested=false handshaken=true',
      'interest chokedByRemote=false peerInterested=true handshaken=true',
      'choke chokedByRemote=true peerInterested=true handshaken=true',
      'interest chokedByRemote=true peerInterested=false handshaken=true',
    ]);
    expect(wire.handshaken).toBe(true);
  });

  it('a cancel takes a queued request off the upload queue', () => {
    const { wire, deliver, handshake } = recordedWire();
    handshake();
    wire.uploads = [
      { index: 1, begin: 0, length: 10 },
      { index: 2, begin: 0, length: 10 },
    ];
    deliver({ type: 'cancel', index: 1, begin: 0, length: 10 });
    expect(wire.uploads).toEqual([{ index: 2, begin: 0, length: 10 }]);
  });

  it.each<[string, (w: ReturnType<typeof recordedWire>) => void, string]>([
    ['a frame before the handshake', (w) => w.deliver({ type: 'interested' }), 'ERR_BAD_FRAME'],
    ['an undecodable frame', (w) => w.link.receive(new Uint8Array([0x05])), 'ERR_BAD_FRAME'],
    [
      'a second handshake',
      (w) => {
        w.handshake();
        w.handshake();
      },
      'ERR_BAD_FRAME',
    ],
    ['a handshake for another swarm', (w) => w.handshake({ infoHash: 'cd'.repeat(32) }), 'ERR_BAD_HANDSHAKE'],
    ['a handshake of another version', (w) => w.handshake({ version: 2 }), 'ERR_BAD_HANDSHAKE'],
    ['a handshake from another peer', (w) => w.handshake({ peerId: 'f'.repeat(40) }), 'ERR_BAD_HANDSHAKE'],
  ])('reports %s to the error handler', (_what, act, code) => {
    const w = recordedWire();
    act(w);
    expect(w.errors).toEqual([code]);
    expect(w.calls.filter((c) => !c.startsWith('handshake'))).toEqual([]);
  });

  it('once detached, ignores frames and link events', () => {
    const { wire, link, calls, handshake } = recordedWire();
    wire.detach();
    handshake();
    link.drain();
    link.close();
    expect(calls).toEqual([]);
    expect(wire.attached).toBe(false);
  });

  it('sends interest and choke changes only when they change', () => {
    const { wire, link, handshake } = recordedWire();
    wire.setInterested(true); // not handshaken yet: nothing
    handshake();
    wire.setInterested(true);
    wire.setInterested(true);
    wire.setChoking(false);
    wire.setChoking(false);
    wire.uploads = [{ index: 0, begin: 0, length: 1 }];
    wire.setChoking(true);
    expect(link.sent.map((m) => m.type)).toEqual(['interested', 'unchoke', 'choke']);
    expect(wire.uploads).toEqual([]);
  });
});
