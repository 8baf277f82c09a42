import { createHash } from 'node:crypto';
import {
  type CapabilityRole,
  type CapabilityTranscript,
  type Clock,
  capabilityProof,
  decodeMessage,
  discoveryKeyOf,
  Emitter,
  encodeMessage,
  type FrameLink,
  type LinkFingerprints,
  type Swarm,
  WIRE_VERSION,
  type WireMessage,
} from '@ringswarm/shared';

type LinkEvents = { frame: [frame: Uint8Array]; drain: []; close: [code?: string] };

/**
 * A deterministic stand-in for a DTLS certificate fingerprint, in the normalized form
 * (`sha-256 AB:CD:…`): the same `seed` always gives the same one, different seeds differ.
 */
export function fakeFingerprint(seed: string): string {
  const digest = createHash('sha256').update(`fake-dtls-certificate:${seed}`).digest('hex').toUpperCase();
  return `sha-256 ${digest.match(/../g)!.join(':')}`;
}

/** What one end of a link knows for the capability proofs: its WebRTC role and both certificates. */
export interface LinkView {
  readonly initiator: boolean;
  fingerprints(): LinkFingerprints | null;
}

/** The other end's view of the same link: the other WebRTC role, the certificates swapped. */
export function mirrorView(view: LinkView): LinkView {
  const fp = view.fingerprints();
  return {
    initiator: !view.initiator,
    fingerprints: () => (fp ? { local: fp.remote, remote: fp.local } : null),
  };
}

/** The transcript one end of a link builds: fingerprints in WebRTC order, nonces in handshake order. */
export function transcriptOf(
  discoveryKey: string,
  view: LinkView,
  nonces: { opener: Uint8Array; responder: Uint8Array },
): CapabilityTranscript {
  const fp = view.fingerprints();
  if (!fp) throw new Error('the link has no fingerprints');
  return {
    discoveryKey,
    initiatorFingerprint: view.initiator ? fp.local : fp.remote,
    responderFingerprint: view.initiator ? fp.remote : fp.local,
    openerNonce: nonces.opener,
    responderNonce: nonces.responder,
  };
}

let lastNonce = 0;
/** Distinct, deterministic handshake nonces for scripted peers. */
export function newNonce(): Uint8Array {
  return new Uint8Array(createHash('sha256').update(`scripted-nonce:${++lastNonce}`).digest());
}

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
  /** What {@link fingerprints} answers; a test sets null to play a link whose certificates are unknown. */
  fingerprintPair: LinkFingerprints | null;
  readonly #timers: Timers;

  constructor(
    readonly remoteId: string,
    timers: Timers = realTimers,
    /** True for the end that plays the WebRTC offerer. */
    readonly initiator = false,
    fingerprints: LinkFingerprints | null = null,
  ) {
    super();
    this.#timers = timers;
    this.fingerprintPair = fingerprints;
  }

  fingerprints(): LinkFingerprints | null {
    return this.fingerprintPair;
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
 * `a` plays the WebRTC offerer. Each end declares a fake certificate of its own, derived from
 * its peer's ID (so two links between the same two peers show the same ones), and sees the
 * other end's as the remote one.
 * @param timers where deliveries are scheduled (a FakeClock); default the real timers
 */
export function linkPair(a: string, b: string, timers?: Timers): [FakeLink, FakeLink] {
  const fpA = fakeFingerprint(a);
  const fpB = fakeFingerprint(b);
  const atA = new FakeLink(b, timers, true, { local: fpA, remote: fpB });
  const atB = new FakeLink(a, timers, false, { local: fpB, remote: fpA });
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

/** What a scripted peer's proof is made from, for tests that forge one. */
export interface ProofContext {
  /** The infohash the scripted peer was given. */
  infoHash: string;
  /** The link's transcript as the scripted peer sees it (in its role). */
  transcript: CapabilityTranscript;
  role: CapabilityRole;
  /** The honest proof. */
  honest: Uint8Array;
  /** The swarm's handshake, as received. */
  remote: Extract<WireMessage, { type: 'handshake' }>;
}

export interface ScriptedHandshake {
  version: number;
  peerId: string;
  /** Default the infohash's discovery key. */
  discoveryKey: string;
  /** Default a fresh one ({@link newNonce}). */
  nonce: Uint8Array;
  /** The role the proof is made for; default `responder` (the swarm's handshake went out first). */
  role: CapabilityRole;
  /** The proof to send once the swarm's handshake arrived: default the honest one; null sends none. */
  proof: ((ctx: ProofContext) => Uint8Array) | null;
}

/**
 * A remote peer played by the test: it sends what the test says and records what it gets.
 * After {@link handshake} it holds what the test sends until the swarm's handshake came and
 * its own proof went out, as a well-behaved peer does.
 */
export class ScriptedPeer {
  readonly inbox: WireMessage[] = [];
  /** The handshake {@link handshake} sent, once sent. */
  sentHandshake: Extract<WireMessage, { type: 'handshake' }> | null = null;
  /** Frames held until the proof went out; null when not held. */
  #held: Uint8Array[] | null = null;
  #pending: { infoHash: string; options: ScriptedHandshake } | null = null;

  constructor(
    readonly id: string,
    /** The test's end of the link. */
    readonly link: FakeLink,
    /** The swarm's end of the link. */
    readonly atSwarm: FakeLink,
  ) {
    link.on('frame', (frame) => {
      const msg = decodeMessage(frame);
      this.inbox.push(msg);
      if (msg.type === 'handshake') this.#prove();
    });
  }

  /** Sends a message, held back while the proof is not out yet (see {@link sendNow}). */
  send(msg: WireMessage): void {
    this.sendFrame(encodeMessage(msg));
  }

  /** Sends raw bytes (a malformed frame, say), held back like {@link send}. */
  sendFrame(frame: Uint8Array): void {
    if (this.#held) this.#held.push(frame);
    else this.link.send(frame);
  }

  /** Sends a message at once, even before the proof. */
  sendNow(msg: WireMessage): void {
    this.link.send(encodeMessage(msg));
  }

  /**
   * Sends our handshake for `infoHash` now and our proof once the swarm's handshake is in.
   * `overrides` play peers that get something wrong.
   */
  handshake(infoHash: string, overrides: Partial<ScriptedHandshake> = {}): void {
    const options: ScriptedHandshake = {
      version: WIRE_VERSION,
      peerId: this.id,
      discoveryKey: discoveryKeyOf(infoHash),
      nonce: newNonce(),
      role: 'responder',
      proof: (ctx) => ctx.honest,
      ...overrides,
    };
    const { version, peerId, discoveryKey, nonce } = options;
    this.sentHandshake = { type: 'handshake', version, peerId, discoveryKey, nonce };
    this.sendNow(this.sentHandshake);
    this.#held = [];
    this.#pending = { infoHash, options };
    this.#prove();
  }

  /** The swarm's handshake and ours are both out: send the proof, then what was held. */
  #prove(): void {
    const pending = this.#pending;
    const remote = this.received('handshake')[0];
    if (!pending || !remote) return;
    this.#pending = null;
    const { infoHash, options } = pending;
    const own = options.nonce;
    const nonces =
      options.role === 'opener' ? { opener: own, responder: remote.nonce } : { opener: remote.nonce, responder: own };
    const transcript = transcriptOf(options.discoveryKey, this.link, nonces);
    const honest = capabilityProof(infoHash, transcript, options.role);
    if (options.proof) {
      this.sendNow({
        type: 'capability',
        proof: options.proof({ infoHash, transcript, role: options.role, honest, remote }),
      });
    }
    const held = this.#held ?? [];
    this.#held = null;
    for (const frame of held) this.link.send(frame);
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
  /** This end plays the WebRTC answerer. */
  readonly initiator = false;
  /** Fake certificates: ours from the remote's ID with a prefix, the remote's from its ID. */
  fingerprintPair: LinkFingerprints | null;

  constructor(readonly remoteId: string) {
    super();
    this.fingerprintPair = { local: fakeFingerprint(`local-of:${remoteId}`), remote: fakeFingerprint(remoteId) };
  }

  fingerprints(): LinkFingerprints | null {
    return this.fingerprintPair;
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
