/** PeerWire on its own: per-peer state, the handshake and proof, and the dispatch of inbound frames. */
import {
  CAPABILITY_TIMEOUT_MS,
  capabilityProof,
  discoveryKeyOf,
  encodeMessage,
  PeerWire,
  type PeerWireHandlers,
  WIRE_VERSION,
  type WireMessage,
} from '@ringswarm/shared';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../helpers/fake-clock.js';
import { mirrorView, newNonce, newPeerId, RecordingLink, transcriptOf } from '../helpers/fake-link.js';

const INFO_HASH = 'ab'.repeat(32);
const DISCOVERY_KEY = discoveryKeyOf(INFO_HASH);
type Handshake = Extract<WireMessage, { type: 'handshake' }>;

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
    reject: note('reject'),
    piece: note('piece'),
    metadataRequest: note('metadata-request'),
    metadataData: note('metadata-data'),
    metadataReject: note('metadata-reject'),
    drain: note('drain'),
    close: note('close'),
    error: (_wire, error) => errors.push(error.code),
  };
  const clock = new FakeClock();
  const wire = new PeerWire(link, { clock }, { infoHash: INFO_HASH }, handlers);
  const ourNonce = newNonce();
  const remoteNonce = newNonce();
  // Our handshake goes out first: we open the link, the remote responds.
  wire.open({ peerId: newPeerId(), nonce: ourNonce });
  const deliver = (msg: WireMessage) => link.receive(encodeMessage(msg));
  /** The remote's honest proof: it holds the infohash, as the responder of this link. */
  const proof = (infoHash = INFO_HASH) =>
    capabilityProof(
      infoHash,
      transcriptOf(DISCOVERY_KEY, mirrorView(link), { opener: ourNonce, responder: remoteNonce }),
      'responder',
    );
  const hello = (overrides: Partial<Handshake> = {}) =>
    deliver({
      type: 'handshake',
      version: WIRE_VERSION,
      discoveryKey: DISCOVERY_KEY,
      peerId: link.remoteId,
      nonce: remoteNonce,
      ...overrides,
    });
  /** The remote's handshake, then its proof. */
  const handshake = (overrides: Partial<Handshake> = {}) => {
    hello(overrides);
    deliver({ type: 'capability', proof: proof() });
  };
  return { wire, link, clock, calls, errors, deliver, hello, proof, handshake, ourNonce, remoteNonce };
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

  it('sends its handshake, then its proof once the remote’s nonce is in, and nothing else', () => {
    const { link, hello, ourNonce, remoteNonce } = recordedWire();
    expect(link.sent).toEqual([
      {
        type: 'handshake',
        version: WIRE_VERSION,
        discoveryKey: DISCOVERY_KEY,
        peerId: expect.any(String),
        nonce: ourNonce,
      },
    ]);
    hello();
    const ours = capabilityProof(
      INFO_HASH,
      transcriptOf(DISCOVERY_KEY, link, { opener: ourNonce, responder: remoteNonce }),
      'opener',
    );
    expect(link.sent.map((m) => m.type)).toEqual(['handshake', 'capability']);
    expect(link.sentOf('capability')[0]?.proof).toEqual(ours);
  });

  it.each<[string, (w: ReturnType<typeof recordedWire>) => void, string]>([
    ['a frame before the handshake', (w) => w.deliver({ type: 'interested' }), 'ERR_CAPABILITY'],
    [
      'a frame between the handshake and the proof',
      (w) => {
        w.hello();
        w.deliver({ type: 'bitfield', bits: Uint8Array.of(0xff) });
      },
      'ERR_CAPABILITY',
    ],
    ['a proof before the handshake', (w) => w.deliver({ type: 'capability', proof: w.proof() }), 'ERR_CAPABILITY'],
    [
      'a second proof',
      (w) => {
        w.handshake();
        w.deliver({ type: 'capability', proof: w.proof() });
      },
      'ERR_CAPABILITY',
    ],
    [
      'a proof made with another infohash',
      (w) => {
        w.hello();
        w.deliver({ type: 'capability', proof: w.proof('cd'.repeat(32)) });
      },
      'ERR_CAPABILITY',
    ],
    ['a handshake that echoes our nonce', (w) => w.hello({ nonce: w.ourNonce }), 'ERR_CAPABILITY'],
    [
      'a link whose fingerprints are unknown',
      (w) => {
        w.link.fingerprintPair = null;
        w.hello();
      },
      'ERR_CAPABILITY',
    ],
    ['an undecodable frame', (w) => w.link.receive(new Uint8Array([0x05])), 'ERR_BAD_FRAME'],
    [
      'a second handshake',
      (w) => {
        w.handshake();
        w.hello();
      },
      'ERR_BAD_FRAME',
    ],
    ['a handshake for another swarm', (w) => w.hello({ discoveryKey: 'cd'.repeat(32) }), 'ERR_BAD_HANDSHAKE'],
    ['a handshake of another version', (w) => w.hello({ version: WIRE_VERSION + 1 }), 'ERR_BAD_HANDSHAKE'],
    ['a handshake from another peer', (w) => w.hello({ peerId: 'f'.repeat(40) }), 'ERR_BAD_HANDSHAKE'],
  ])('reports %s to the error handler', (_what, act, code) => {
    const w = recordedWire();
    act(w);
    expect(w.errors).toEqual([code]);
    expect(w.calls.filter((c) => !c.startsWith('handshake'))).toEqual([]);
  });

  it('is handshaken only once the remote’s proof checked out', () => {
    const { wire, calls, hello, deliver, proof } = recordedWire();
    hello();
    expect(wire.handshaken).toBe(false);
    expect(calls).toEqual([]);
    deliver({ type: 'capability', proof: proof() });
    expect(wire.handshaken).toBe(true);
    expect(calls).toEqual(['handshake chokedByRemote=true peerInterested=false handshaken=true']);
  });

  it('reports a remote that never proves the capability, and only then', () => {
    const slow = recordedWire();
    slow.hello();
    slow.clock.advance(CAPABILITY_TIMEOUT_MS - 1);
    expect(slow.errors).toEqual([]);
    slow.clock.advance(1);
    expect(slow.errors).toEqual(['ERR_CAPABILITY']);

    const prompt = recordedWire();
    prompt.handshake();
    prompt.clock.advance(2 * CAPABILITY_TIMEOUT_MS);
    expect(prompt.errors).toEqual([]);
  });

  it('sends no swarm message before the remote’s proof checked out', () => {
    const { wire, link, hello } = recordedWire();
    hello();
    wire.setChoking(false);
    expect(wire.send({ type: 'have', index: 0 })).toBe(false);
    expect(wire.send({ type: 'bitfield', bits: Uint8Array.of(0xff) })).toBe(false);
    expect(link.sent.map((m) => m.type)).toEqual(['handshake', 'capability']);
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
    expect(link.sent.map((m) => m.type)).toEqual(['handshake', 'capability', 'interested', 'unchoke', 'choke']);
    expect(wire.uploads).toEqual([]);
  });
});
