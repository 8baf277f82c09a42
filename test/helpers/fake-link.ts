import {
  type Clock,
  decodeMessage,
  Emitter,
  encodeMessage,
  type FrameLink,
  type Swarm,
  type WireMessage,
} from '@ringswarm/shared';

type LinkEvents = { frame: [frame: Uint8Array]; drain: []; close: [code?: string] };

/** Where a link's deliveries are scheduled: the real timers, or a test's FakeClock. */
type Timers = Pick<Clock, 'setTimeout'>;
const realTimers: Timers = { setTimeout: (fn, ms) => setTimeout(fn, ms) };

/**
 * One end of an in-memory connection. Frames reach the other end in order, each in a later
 * macrotask: never synchronously, like a data channel, and through setTimeout rather than
 * queueMicrotask so that an endless exchange cannot starve the timers that end a test.
 * Given a FakeClock, deliveries are that clock's zero-delay timers instead: they happen when
 * the test advances or flushes the clock.
 * Closing one end closes the other, which sees a plain hang-up, as over WebRTC.
 */
export class FakeLink extends Emitter<LinkEvents> implements FrameLink {
  closed = false;
  closeCode: string | undefined;
  other: FakeLink | undefined;
  readonly #timers: Timers;

  constructor(
    readonly remoteId: string,
    timers: Timers = realTimers,
  ) {
    super();
    this.#timers = timers;
  }

  send(frame: Uint8Array): boolean {
    if (this.closed) return false;
    const other = this.other!;
    const copy = frame.slice();
    this.#timers.setTimeout(() => other.#deliver(copy), 0);
    return true;
  }

  close(code?: string): void {
    if (this.closed) return;
    this.closed = true;
    this.closeCode = code;
    this.emit('close', code);
    this.removeAllListeners();
    const other = this.other!;
    this.#timers.setTimeout(() => other.close(), 0);
  }

  #deliver(frame: Uint8Array): void {
    if (!this.closed) this.emit('frame', frame);
  }
}

/**
 * Two connected ends: `[0]` is used by peer `a` (so its remoteId is `b`), `[1]` by peer `b`.
 * @param timers where deliveries are scheduled (a FakeClock); default the real timers
 */
export function linkPair(a: string, b: string, timers?: Timers): [FakeLink, FakeLink] {
  const atA = new FakeLink(b, timers);
  const atB = new FakeLink(a, timers);
  atA.other = atB;
  atB.other = atA;
  return [atA, atB];
}

/** Connects two swarms; `tamper` rewrites every frame `a` sends. */
export function connect(
  a: Swarm,
  b: Swarm,
  tamper?: (frame: Uint8Array) => Uint8Array,
  timers?: Timers,
): [FakeLink, FakeLink] {
  const [atA, atB] = linkPair(a.peerId, b.peerId, timers);
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

/** A scripted peer connected to `swarm`; with `timers` (a FakeClock), frames move when it is flushed. */
export function scripted(swarm: Swarm, id = newPeerId(), timers?: Timers): ScriptedPeer {
  const [atSwarm, atPeer] = linkPair(swarm.peerId, id, timers);
  swarm.addLink(atSwarm);
  return new ScriptedPeer(id, atPeer, atSwarm);
}

/**
 * A link that delivers nothing: it records what is sent to it, decoded, so a test can look
 * at once. `accept` is what `send` returns (false = "wait for drain").
 */
export class RecordingLink extends Emitter<LinkEvents> implements FrameLink {
  readonly sent: WireMessage[] = [];
  accept = true;
  closed = false;
  closeCode: string | undefined;

  constructor(readonly remoteId: string) {
    super();
  }

  send(frame: Uint8Array): boolean {
    this.sent.push(decodeMessage(frame));
    return this.accept;
  }

  /** Messages of one type sent so far. */
  sentOf<T extends WireMessage['type']>(type: T): (WireMessage & { type: T })[] {
    return this.sent.filter((m): m is WireMessage & { type: T } => m.type === type);
  }

  /** Hands a frame to the link's listener, as if the remote had sent it. */
  receive(frame: Uint8Array): void {
    this.emit('frame', frame);
  }

  /** Fires `drain`, as a link does when its buffer empties. */
  drain(): void {
    this.emit('drain');
  }

  close(code?: string): void {
    if (this.closed) return;
    this.closed = true;
    this.closeCode = code;
    this.emit('close', code);
  }
}
