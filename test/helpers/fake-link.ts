import { decodeMessage, Emitter, encodeMessage, type FrameLink, type Swarm, type WireMessage } from '@ringswarm/shared';

type LinkEvents = { frame: [frame: Uint8Array]; drain: []; close: [code?: string] };

/**
 * One end of an in-memory connection. Frames reach the other end in order, each in a later
 * macrotask: never synchronously, like a data channel, and through setTimeout rather than
 * queueMicrotask so that an endless exchange cannot starve the timers that end a test.
 * Closing one end closes the other, which sees a plain hang-up, as over WebRTC.
 */
export class FakeLink extends Emitter<LinkEvents> implements FrameLink {
  closed = false;
  closeCode: string | undefined;
  other: FakeLink | undefined;

  constructor(readonly remoteId: string) {
    super();
  }

  send(frame: Uint8Array): boolean {
    if (this.closed) return false;
    const other = this.other!;
    const copy = frame.slice();
    setTimeout(() => other.#deliver(copy), 0);
    return true;
  }

  close(code?: string): void {
    if (this.closed) return;
    this.closed = true;
    this.closeCode = code;
    this.emit('close', code);
    this.removeAllListeners();
    const other = this.other!;
    setTimeout(() => other.close(), 0);
  }

  #deliver(frame: Uint8Array): void {
    if (!this.closed) this.emit('frame', frame);
  }
}

/** Two connected ends: `[0]` is used by peer `a` (so its remoteId is `b`), `[1]` by peer `b`. */
export function linkPair(a: string, b: string): [FakeLink, FakeLink] {
  const atA = new FakeLink(b);
  const atB = new FakeLink(a);
  atA.other = atB;
  atB.other = atA;
  return [atA, atB];
}

/** Connects two swarms; `tamper` rewrites every frame `a` sends. */
export function connect(a: Swarm, b: Swarm, tamper?: (frame: Uint8Array) => Uint8Array): [FakeLink, FakeLink] {
  const [atA, atB] = linkPair(a.peerId, b.peerId);
  if (tamper) {
    const send = atA.send.bind(atA);
    atA.send = (frame) => send(tamper(frame));
  }
  a.addLink(atA);
  b.addLink(atB);
  return [atA, atB];
}

/** A remote peer played by the test: it sends what the test says and records what it gets. */
export class ScriptedPeer {
  readonly inbox: WireMessage[] = [];

  constructor(
    readonly id: string,
    /** The test's end of the link. */
    readonly link: FakeLink,
    /** The swarm's end of the link. */
    readonly atSwarm: FakeLink,
  ) {
    link.on('frame', (frame) => this.inbox.push(decodeMessage(frame)));
  }

  send(msg: WireMessage): void {
    this.link.send(encodeMessage(msg));
  }

  handshake(infoHash: string, overrides: Partial<{ version: number; peerId: string }> = {}): void {
    this.send({ type: 'handshake', version: 1, infoHash, peerId: this.id, ...overrides });
  }

  received<T extends WireMessage['type']>(type: T): (WireMessage & { type: T })[] {
    return this.inbox.filter((m): m is WireMessage & { type: T } => m.type === type);
  }
}

let lastPeerId = 0;
/** Distinct, valid peer IDs for tests: 1, 2, 3... as 40 hex digits. */
export const newPeerId = () => (++lastPeerId).toString(16).padStart(40, '0');

export function scripted(swarm: Swarm, id = newPeerId()): ScriptedPeer {
  const [atSwarm, atPeer] = linkPair(swarm.peerId, id);
  swarm.addLink(atSwarm);
  return new ScriptedPeer(id, atPeer, atSwarm);
}
