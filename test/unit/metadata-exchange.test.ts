/** MetadataExchange on its own: serving the manifest in chunks, and fetching it from one peer at a time. */
import { randomBytes } from 'node:crypto';
import {
  createManifest,
  encodeManifest,
  infoHashOf,
  type Manifest,
  METADATA_CHUNK_LENGTH,
  MetadataExchange,
  type PeerWire,
} from '@ringswarm/shared';
import { describe, expect, it } from 'vitest';
import { errorCode } from '../helpers/error-code.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { handshakenWire } from '../helpers/swarm-fixtures.js';

/** A manifest whose encoding spans three metadata chunks. */
function bigManifest(): Manifest {
  const files = Array.from({ length: 400 }, (_, i) => ({ path: `d/${'long-name-'.repeat(10)}${i}.txt`, length: 1 }));
  return createManifest({
    name: 'd',
    files,
    pieceLength: 16 * 1024,
    pieces: [randomBytes(32).toString('hex')],
  });
}

async function setup() {
  const manifest = bigManifest();
  const encoded = encodeManifest(manifest);
  const infoHash = await infoHashOf(manifest);
  const clock = new FakeClock();
  const peers = new Map<string, PeerWire>();
  const fetched: Manifest[] = [];
  const refused: [remoteId: string, code: string][] = [];
  // Settles once the fetched manifest's hash check is over, either way.
  let checked: () => void = () => {};
  const hashChecked = new Promise<void>((resolve) => {
    checked = resolve;
  });
  const exchange = new MetadataExchange(infoHash, peers, {
    fetched: (m) => {
      fetched.push(m);
      checked();
    },
    refused: (wire, error) => {
      refused.push([wire.remoteId, error.code]);
      peers.delete(wire.remoteId); // as the swarm does when it closes the peer
      checked();
    },
  });
  const addPeer = () => {
    const { wire, link } = handshakenWire(clock, infoHash);
    peers.set(link.remoteId, wire);
    return { wire, link };
  };
  /** Plays `peer` serving `bytes`: answers each metadata request, until no more come. Returns how many. */
  const serve = (peer: ReturnType<typeof addPeer>, bytes: Uint8Array) => {
    let answered = 0;
    for (let next = peer.link.sentOf('metadata-request')[answered]; next; ) {
      const begin = next.chunk * METADATA_CHUNK_LENGTH;
      const data = bytes.subarray(begin, Math.min(bytes.length, begin + METADATA_CHUNK_LENGTH));
      exchange.onData(peer.wire, next.chunk, bytes.length, data);
      next = peer.link.sentOf('metadata-request')[++answered];
    }
    return answered;
  };
  return { manifest, encoded, exchange, peers, fetched, refused, addPeer, serve, hashChecked };
}

describe('MetadataExchange', () => {
  it('serves a known manifest chunk by chunk, and refuses chunks past its end', async () => {
    const { manifest, encoded, exchange, addPeer } = await setup();
    expect(encoded.length).toBeGreaterThan(2 * METADATA_CHUNK_LENGTH);
    const peer = addPeer();
    exchange.onRequest(peer.wire, 0);
    expect(peer.link.sentOf('metadata-reject')).toEqual([{ type: 'metadata-reject', chunk: 0 }]);

    exchange.setManifest(manifest);
    expect(exchange.known).toBe(true);
    const chunks = Math.ceil(encoded.length / METADATA_CHUNK_LENGTH);
    // A chunk we have is held for the uploader (which sends it within the upload limits); one
    // past the end is refused at once.
    const data: { chunk: number; total: number; data: Uint8Array }[] = [];
    for (let chunk = 0; chunk <= chunks; chunk++) {
      exchange.onRequest(peer.wire, chunk);
      const held = peer.wire.metadataWanted;
      if (held === null) continue;
      data.push({ chunk: held, ...exchange.chunk(held)! });
      peer.wire.metadataWanted = null; // as the uploader does once the chunk is sent
    }
    expect(data.map((d) => d.chunk)).toEqual([...Array(chunks).keys()]);
    expect(data.every((d) => d.total === encoded.length)).toBe(true);
    expect(Buffer.concat(data.map((d) => d.data))).toEqual(Buffer.from(encoded));
    expect(peer.link.sentOf('metadata-data')).toEqual([]);
    expect(peer.link.sentOf('metadata-reject').map((r) => r.chunk)).toEqual([0, chunks]);
  });

  it('fetches from one peer at a time, skips one that refused, and hands over a manifest that matches', async () => {
    const { manifest, encoded, exchange, fetched, addPeer, serve, hashChecked } = await setup();
    const empty = addPeer();
    const seeder = addPeer();
    exchange.fetch();
    expect(empty.link.sentOf('metadata-request')).toEqual([{ type: 'metadata-request', chunk: 0 }]);
    expect(seeder.link.sentOf('metadata-request')).toEqual([]);
    exchange.fetch(); // one fetch at a time
    expect(empty.link.sentOf('metadata-request')).toHaveLength(1);

    exchange.onReject(empty.wire);
    expect(seeder.link.sentOf('metadata-request')).toEqual([{ type: 'metadata-request', chunk: 0 }]);
    expect(serve(seeder, encoded)).toBe(Math.ceil(encoded.length / METADATA_CHUNK_LENGTH));
    // The last chunk is in: the hash check runs, then the manifest is handed over.
    expect(fetched).toEqual([]);
    await hashChecked;
    expect(fetched).toEqual([manifest]);
  });

  it('refuses a peer whose manifest does not hash to the infohash, and asks the next', async () => {
    const { encoded, exchange, fetched, refused, addPeer, serve, hashChecked } = await setup();
    const impostor = addPeer();
    const honest = addPeer();
    exchange.fetch();
    const forged = encoded.slice();
    forged[forged.length - 3]! ^= 0x01;
    serve(impostor, forged);
    await hashChecked;
    expect(refused).toEqual([[impostor.link.remoteId, 'ERR_BAD_METADATA']]);
    expect(fetched).toEqual([]);
    expect(honest.link.sentOf('metadata-request')).toEqual([{ type: 'metadata-request', chunk: 0 }]);
  });

  it('an out-of-order chunk is ERR_BAD_METADATA; a peer that leaves mid-fetch is replaced', async () => {
    const { encoded, exchange, peers, addPeer } = await setup();
    const a = addPeer();
    const b = addPeer();
    exchange.fetch();
    expect(
      errorCode(() => exchange.onData(a.wire, 1, encoded.length, encoded.subarray(0, METADATA_CHUNK_LENGTH))),
    ).toBe('ERR_BAD_METADATA');
    peers.delete(a.link.remoteId);
    exchange.peerGone(a.link.remoteId);
    exchange.fetch();
    expect(b.link.sentOf('metadata-request')).toEqual([{ type: 'metadata-request', chunk: 0 }]);
    // A peer that refused is asked again once its bitfield shows it has the manifest.
    exchange.onReject(b.wire);
    expect(b.link.sentOf('metadata-request')).toHaveLength(1);
    exchange.onBitfield(b.wire);
    expect(b.link.sentOf('metadata-request')).toHaveLength(2);
  });
});
