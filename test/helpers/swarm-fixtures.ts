/** The pieces the swarm parts' unit tests build on: a manifest whose hashes do not matter, and a peer's wire. */
import { type Clock, createManifest, type Manifest, PeerWire, type PeerWireHandlers } from '@ringswarm/shared';
import { newPeerId, RecordingLink } from './fake-link.js';

const ignore = () => {};

/** Wire handlers that ignore every event but those in `overrides`. */
export function wireHandlers(overrides: Partial<PeerWireHandlers> = {}): PeerWireHandlers {
  return {
    handshake: ignore,
    bitfield: ignore,
    have: ignore,
    choke: ignore,
    unchoke: ignore,
    interest: ignore,
    request: ignore,
    reject: ignore,
    piece: ignore,
    metadataRequest: ignore,
    metadataData: ignore,
    metadataReject: ignore,
    drain: ignore,
    close: ignore,
    error: ignore,
    ...overrides,
  };
}

/** One file `f.bin` of `pieces` whole pieces of `pieceLength` bytes; every piece hash is zeros. */
export function blankManifest(pieces: number, pieceLength: number): Manifest {
  return createManifest({
    name: 'f.bin',
    files: [{ path: 'f.bin', length: pieces * pieceLength }],
    pieceLength,
    pieces: Array.from({ length: pieces }, () => '0'.repeat(64)),
  });
}

/** A peer's wire over a RecordingLink (what we send is recorded), already past the handshake. */
export function handshakenWire(
  clock: Clock,
  infoHash: string,
  handlers: PeerWireHandlers = wireHandlers(),
): { wire: PeerWire; link: RecordingLink } {
  const link = new RecordingLink(newPeerId());
  const wire = new PeerWire(link, { clock }, { infoHash }, handlers);
  wire.handshaken = true;
  return { wire, link };
}
