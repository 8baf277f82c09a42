/**
 * SignalingRouter (DESIGN §3): how the signaling of each connection reaches the remote peer.
 *
 * Path choice. A connection this peer opens is signaled through the ring once this peer has
 * joined it, else through the tracker; a peer whose last link failed is signaled through the
 * tracker for a while (the tracker knows at once whether it is still there). A connection
 * signaled through the ring whose remote has not answered after {@link RING_SIGNAL_ANSWER_MS},
 * or has not opened after {@link RING_SIGNAL_FALLBACK_MS}, is signaled again, every signal
 * replayed, through the tracker; so is one whose remote answers through the tracker.
 *
 * Routing through the ring (ROUTE frames, hop by hop towards `target`): straight to the
 * target when linked; else back to the neighbour that last handed us a signal from the
 * target (its return hop: answers and ICE candidates find their way back to a newcomer that
 * is not in the ring yet); else greedily to the linked ring member closest before the target
 * on the circle. A peer that has not joined yet hands its own signals to any linked member
 * (its bootstrap peer).
 *
 * Signals carry a session id `sid` next to simple-peer's data, so that data from an earlier
 * attempt, or the same data arriving by both paths, never reaches a new connection.
 *
 * Signed signals (protocol/signal-envelope.ts). Every signal this peer originates is signed
 * over (origin, target, sid, body); signing is asynchronous, so the signals of one session
 * are chained and go out in the order simple-peer produced them (offer before candidates).
 * Every signal that arrives, from the tracker (whose `from` is checked against the key, so a
 * lying server cannot forge one) or in a ROUTE frame, is verified before it is acted on:
 * before a link is created, fed, closed or replaced, and before a return hop is learned. A
 * hop verifies what it forwards too, and drops what does not check out. So a link exists only
 * after a verified offer (we answer) or carries traffic only after a verified answer (we
 * offered): its remote proved its ID, and the DTLS fingerprint in the signed description
 * binds the connection to it. The router marks such a link `proven` in the pool.
 */

import type { PeerIdentity } from '../identity/identity.js';
import { ErrorCode, RingswarmError } from '../protocol/errors.js';
import {
  SID_BYTES,
  type SignalData,
  type SignalEnvelope,
  signSignal,
  takeSignalBatch,
  type VerifiedSignal,
  verifySignalEnvelopeAsync,
} from '../protocol/signal-envelope.js';
import { randomBytes, toHex } from '../util/bytes.js';
import type { Clock } from '../util/clock.js';
import { Emitter } from '../util/emitter.js';
import type { Link } from './link.js';
import type { LinkEntry, LinkPool } from './link-pool.js';
import { decodeRouteFrame, encodeRouteFrame, ROUTE_MAX_HOPS, type RoutedSignal } from './overlay-wire.js';

/**
 * A connection signaled through the ring whose remote has not answered (no description) by
 * then is signaled again via the tracker: a signal takes tens of milliseconds over a healthy
 * ring, and one lost on a broken path (a hop that died) should not hold up a repair.
 */
export const RING_SIGNAL_ANSWER_MS = 1_500;
/** One that was answered but has not opened by then (ICE still trying) is signaled again via the tracker. */
export const RING_SIGNAL_FALLBACK_MS = 4_000;
/**
 * After a link to a peer failed, new connections to it are signaled through the tracker
 * for this long: the tracker knows at once whether the peer is still connected, where a
 * signal routed through the ring to a peer that died would just get lost.
 */
export const FAILED_PEER_MEMORY_MS = 30_000;
/** The most peers whose failure is remembered. */
export const MAX_FAILED_PEERS = 256;
/** Signals of one connection attempt kept for a replay through the tracker. */
export const MAX_REPLAYED_SIGNALS = 64;
/** How long a return hop (the neighbour that handed us a signal from `origin`) is remembered. */
export const RETURN_HOP_MS = 60_000;
/** The most return hops remembered. */
export const MAX_RETURN_HOPS = 1_024;
/**
 * The most (peer, session id) pairs remembered as used: an offer for a session this peer
 * already had with that peer (a replay of a genuine old offer) never replaces a link.
 */
export const MAX_REMEMBERED_SESSIONS = 1_024;

export type SignalPath = 'ring' | 'tracker';

/** The tracker as the router uses it. */
export interface SignalTracker {
  readonly connected: boolean;
  /**
   * Relays signaling data to a peer; `onRefused` hears (asynchronously, at most once) the
   * RingswarmError of a refusal, or of no answer where the tracker acknowledges signals.
   */
  signal(to: string, data: Record<string, unknown>, onRefused: (error: Error) => void): void;
}

/** This peer's place in the ring, as far as routing signals needs it (the Overlay). */
export interface RingPosition {
  /** This peer has joined the ring. */
  readonly joined: boolean;
  /** The ring was left; it carries nothing more. */
  readonly destroyed: boolean;
  /**
   * Among `candidates` (linked ring members), the next hop towards `target`: the target
   * itself, or the one closest before it on the circle, provided it is closer than this
   * peer; where none is, the successor when the target lies before it (a leaf may be
   * attached to the member after it). Null when there is nowhere to go.
   */
  nextHopTowards(target: string, candidates: readonly string[]): string | null;
}

export interface SignalingRouterDeps {
  /** Signs every signal this peer originates; its peer ID is this peer's. */
  identity: PeerIdentity;
  clock: Clock;
  links: LinkPool;
  tracker: SignalTracker;
}

/** Signals counted by path, for the ring's stats. */
export interface SignalStats {
  /** Signals this peer originated that went out through the ring. */
  viaRing: number;
  /** Signals this peer originated that went out through the tracker. */
  viaTracker: number;
  /** Signals for others this peer passed on. */
  relayed: number;
  /** Routed signals that arrived here for this peer. */
  received: number;
  /** Routed signals dropped: hop limit, loops, or no way forward. */
  dropped: number;
  /**
   * Signals refused, from the tracker or the ring, here or passing through: unsigned, a key
   * that is not the origin's, a bad signature, or signed for another target or session.
   */
  refused: number;
}

export type SignalingRouterEvents = {
  /**
   * A non-fatal problem: the tracker refused a signal (its RingswarmError), a peer routed
   * badly (a RingswarmError with ERR_BAD_FRAME or ERR_ROUTE_LOOP), a signal did not verify
   * (ERR_BAD_SIGNATURE).
   */
  warning: [error: Error];
  close: [];
};

/** One connection attempt's signaling. */
interface SignalSession {
  readonly link: Link;
  readonly sid: string;
  /** How our signals for this connection travel now. */
  path: SignalPath;
  /** Our signals so far, signed, for a replay through the tracker. */
  sent: SignalEnvelope[];
  /** Our signals not yet signed, in order. */
  pending: SignalData[];
  /** Our signals being signed, in order: each send waits for the one before. */
  queue: Promise<void>;
  /** The remote's answer (or offer) was applied; duplicates are ignored. */
  gotDescription: boolean;
  fallbackTimer: unknown;
  /** How many of `sent` went through the ring. */
  viaRing: number;
  /**
   * 'sent': the ring path was silent and everything was sent again through the tracker;
   * 'refused': the tracker would not relay that, and the ring path carries on alone.
   */
  replay: 'none' | 'sent' | 'refused';
}

export class SignalingRouter extends Emitter<SignalingRouterEvents> {
  readonly #deps: SignalingRouterDeps;
  #ring: RingPosition | null = null;
  readonly #sessions = new Map<Link, SignalSession>();
  /** Peers whose last link failed, and when; oldest first. */
  readonly #failedAt = new Map<string, number>();
  /** For each origin of a routed signal: the neighbour that last handed us one, and until when. */
  readonly #returnHops = new Map<string, { via: string; expires: number }>();
  /** `${peer}/${sid}` of the sessions this peer had, oldest first. */
  readonly #usedSessions = new Set<string>();
  readonly #counts: SignalStats = { viaRing: 0, viaTracker: 0, relayed: 0, received: 0, dropped: 0, refused: 0 };
  /** Peers dropped for malformed ROUTE frames or routing loops. */
  #peersDropped = 0;
  #destroyed = false;
  /**
   * Signals in from the tracker and the ring, in arrival order: each is verified as soon as it
   * arrives (the checks run side by side) and acted on only after every earlier one.
   */
  #inbox: Promise<void> = Promise.resolve();
  /** Remembers failed peers; taken off the pool again in {@link destroy}. */
  readonly #onLinkClose = (
    remoteId: string,
    code: string | undefined,
    _discoveryKey: string | null,
    failed: boolean,
  ) => {
    if (this.#destroyed) return;
    // The tracker would not relay between us (it never introduced us): it is no way to that
    // peer, and the next connection takes the ring however the last one failed.
    if (code === ErrorCode.NOT_ALLOWED) this.#failedAt.delete(remoteId);
    else if (failed) this.#rememberFailure(remoteId);
  };

  constructor(deps: SignalingRouterDeps) {
    super();
    this.#deps = deps;
    this.#self = deps.identity.peerId;
    deps.links.on('link-close', this.#onLinkClose);
  }

  readonly #self: string;

  /** Lets the ring carry signaling (once this peer has joined it). Without one, the tracker carries all. */
  useRing(ring: RingPosition): void {
    this.#ring = ring;
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  /**
   * The link to a peer, opening one (as initiator) when there is none, its signaling sent
   * by `via` (default: {@link SignalingRouter.pathTo}). Null when the budget is full and
   * nothing can be evicted. `forRing` links may evict swarm links.
   */
  open(remoteId: string, forRing: boolean, via?: SignalPath): LinkEntry | null {
    if (this.#destroyed || remoteId === this.#self) return null;
    const existing = this.#deps.links.get(remoteId);
    if (existing) return existing;
    const entry = this.#deps.links.create(remoteId, true, forRing);
    if (!entry) return null;
    this.#startSession(entry.link, toHex(randomBytes(SID_BYTES)), via ?? this.pathTo(remoteId));
    return entry;
  }

  /** The path a new connection to `remoteId` is signaled by. */
  pathTo(remoteId: string): SignalPath {
    if (!this.#ring?.joined) return 'tracker';
    const failedAt = this.#failedAt.get(remoteId);
    const recentlyFailed = failedAt !== undefined && this.#deps.clock.now() - failedAt < FAILED_PEER_MEMORY_MS;
    return recentlyFailed && this.#deps.tracker.connected ? 'tracker' : 'ring';
  }

  /**
   * Handles a signal from a remote, as relayed by the tracker (`from` stamped by the server)
   * or routed by the ring: acted on only when its envelope verifies as `from`'s, for us.
   */
  handleSignal(from: string, envelope: unknown, via: SignalPath): Promise<void> {
    if (this.#destroyed || from === this.#self) return this.#inbox;
    return this.#inOrder(verifySignalEnvelopeAsync(envelope, from, this.#self), (verified) => {
      if (!verified) this.#refuse(from, via);
      else this.#apply(from, verified, via);
    });
  }

  /** Resolves once every signal received so far has been handled and every one made so far sent. */
  async settled(): Promise<void> {
    await Promise.all([this.#inbox, ...[...this.#sessions.values()].map((s) => s.queue)]);
  }

  /**
   * Runs `then` with the outcome of `check` once every signal that arrived before it has been
   * handled, unless destroyed by then. The returned promise settles with it and never rejects.
   */
  #inOrder<T>(check: Promise<T>, then: (outcome: T) => void): Promise<void> {
    this.#inbox = this.#inbox
      .then(() => check)
      .then((outcome) => {
        if (!this.#destroyed) then(outcome);
      })
      .catch((err: unknown) => {
        if (!this.#destroyed) this.emit('warning', err instanceof Error ? err : new Error(String(err)));
      });
    return this.#inbox;
  }

  /** Counts and reports a signal that did not verify; nothing else happens. */
  #refuse(origin: string, via: SignalPath): void {
    this.#counts.refused++;
    this.emit(
      'warning',
      new RingswarmError(ErrorCode.BAD_SIGNATURE, `a signal claimed to be from ${origin} (via ${via}) did not verify`),
    );
  }

  /** A verified signal from `from`, for us. */
  #apply(from: string, { sid, signals }: VerifiedSignal, via: SignalPath): void {
    for (const data of signals) this.#applyOne(from, sid, data, via);
  }

  #applyOne(from: string, sid: string, data: SignalData, via: SignalPath): void {
    const links = this.#deps.links;
    const entry = links.get(from);
    const session = entry ? this.#sessions.get(entry.link) : undefined;
    const isOffer = data.type === 'offer';
    if (entry && session?.sid === sid) {
      // The remote answers through the tracker: our ring path may not reach it.
      if (via === 'tracker' && !entry.link.connected && session.path === 'ring') this.#fallBack(session);
      if (isOffer || data.type === 'answer') {
        if (session.gotDescription || (isOffer && entry.link.initiator)) return;
        session.gotDescription = true;
        // Its signed description (with its DTLS fingerprint) is what the link will connect to.
        entry.proven = true;
      }
      entry.link.signal(data);
      return;
    }
    // A genuine old offer played again (by a tracker or a hop that kept it) replaces nothing.
    if (!isOffer || this.#usedSessions.has(`${from}/${sid}`)) return;
    let unsent: Uint8Array[] = [];
    if (entry) {
      // Both sides offered at once: the lower peer ID keeps its offer, the other yields,
      // and what it had sent for its own link goes over the remote's (a ring request the
      // remote never got would cost the asker a timeout, and the remote its liveness).
      if (entry.link.initiator && !entry.link.connected && this.#self < from) return;
      unsent = entry.link.takeUnsent();
      links.retire(entry);
    }
    // Incoming links come only from here, after a verified offer: every link's remote proved its ID.
    const created = links.create(from, false, false);
    if (!created) return;
    created.proven = true;
    this.#startSession(created.link, sid, via).gotDescription = true;
    created.link.signal(data);
    for (const frame of unsent) created.link.send(frame);
  }

  #startSession(link: Link, sid: string, path: SignalPath): SignalSession {
    const session: SignalSession = {
      link,
      sid,
      path,
      sent: [],
      pending: [],
      queue: Promise.resolve(),
      gotDescription: false,
      fallbackTimer: null,
      viaRing: 0,
      replay: 'none',
    };
    this.#sessions.set(link, session);
    this.#rememberSession(link.remoteId, sid);
    const clock = this.#deps.clock;
    link.on('signal', (data) => {
      if (!this.#destroyed) this.#sign(session, data);
    });
    link.once('connect', () => clock.clearTimeout(session.fallbackTimer));
    link.once('close', () => {
      clock.clearTimeout(session.fallbackTimer);
      if (this.#sessions.get(link) === session) this.#sessions.delete(link);
    });
    if (path === 'ring') {
      const fallBack = () => {
        session.fallbackTimer = null;
        if (!this.#destroyed && !link.connected && !link.destroyed) this.#fallBack(session);
      };
      session.fallbackTimer = clock.setTimeout(() => {
        if (!session.gotDescription) return fallBack();
        session.fallbackTimer = clock.setTimeout(fallBack, RING_SIGNAL_FALLBACK_MS - RING_SIGNAL_ANSWER_MS);
      }, RING_SIGNAL_ANSWER_MS);
    }
    return session;
  }

  /**
   * Signs our signals and sends them in order; nothing is sent after {@link destroy} or once
   * the link closed. Signals that come while a signature is being made wait, and go out
   * together under the next one (one envelope, one check at each hop).
   */
  #sign(session: SignalSession, data: SignalData): void {
    session.pending.push(data);
    if (session.pending.length === 1) session.queue = session.queue.then(() => this.#signPending(session));
  }

  async #signPending(session: SignalSession): Promise<void> {
    const { link, pending } = session;
    while (pending.length > 0) {
      if (this.#destroyed || link.destroyed) {
        pending.length = 0;
        return;
      }
      const batch = takeSignalBatch(pending);
      let envelope: SignalEnvelope;
      try {
        envelope = await signSignal(this.#deps.identity, link.remoteId, session.sid, batch);
      } catch (err) {
        pending.length = 0;
        if (this.#destroyed || link.destroyed) return;
        this.emit('warning', err instanceof Error ? err : new Error(String(err)));
        link.close();
        return;
      }
      if (!this.#destroyed && !link.destroyed) this.#send(session, envelope);
    }
  }

  #rememberSession(peer: string, sid: string): void {
    const key = `${peer}/${sid}`;
    this.#usedSessions.delete(key);
    this.#usedSessions.add(key);
    if (this.#usedSessions.size > MAX_REMEMBERED_SESSIONS) {
      const oldest = this.#usedSessions.values().next().value;
      if (oldest !== undefined) this.#usedSessions.delete(oldest);
    }
  }

  #send(session: SignalSession, data: SignalEnvelope): void {
    if (session.sent.length < MAX_REPLAYED_SIGNALS) session.sent.push(data);
    if (session.path === 'ring') {
      if (this.#sendViaRing(session.link.remoteId, data)) {
        session.viaRing = session.sent.length;
        return;
      }
      session.path = 'tracker';
    }
    this.#sendViaTracker(session, data);
  }

  #sendViaTracker(session: SignalSession, data: SignalEnvelope): void {
    this.#counts.viaTracker++;
    this.#deps.tracker.signal(session.link.remoteId, data, (error) => {
      if (this.#destroyed) return;
      this.emit('warning', error);
      const code = error instanceof RingswarmError ? error.code : undefined;
      if (session.replay !== 'none' && (code === ErrorCode.NOT_ALLOWED || code === ErrorCode.RATE_LIMITED)) {
        this.#backToRing(session);
        return;
      }
      session.link.close(code);
    });
  }

  /** The ring path stayed silent: send everything again through the tracker. */
  #fallBack(session: SignalSession): void {
    if (session.path === 'tracker' || !this.#deps.tracker.connected) return;
    session.path = 'tracker';
    session.replay = 'sent';
    for (const data of session.sent) this.#sendViaTracker(session, data);
  }

  /**
   * The tracker would not relay a replay (it never introduced the two peers, or the target
   * gets too many signals): the ring path, only slow perhaps, is all there is, so what went
   * through the tracker alone goes through the ring too, and so does what follows.
   */
  #backToRing(session: SignalSession): void {
    if (session.replay !== 'sent' || session.link.destroyed) return;
    session.replay = 'refused';
    session.path = 'ring';
    for (const data of session.sent.slice(session.viaRing)) {
      if (!this.#sendViaRing(session.link.remoteId, data)) return;
      session.viaRing++;
    }
  }

  #rememberFailure(remoteId: string): void {
    const now = this.#deps.clock.now();
    this.#failedAt.delete(remoteId);
    this.#failedAt.set(remoteId, now);
    // Oldest first: forget the ones past their memory, and never keep more than a few hundred.
    const cutoff = now - FAILED_PEER_MEMORY_MS;
    for (const [id, at] of this.#failedAt) {
      if (at >= cutoff && this.#failedAt.size <= MAX_FAILED_PEERS) break;
      this.#failedAt.delete(id);
    }
  }

  // --- routing through the ring ------------------------------------------------------------

  /** This peer's own signal for `to`, into the ring. False when no linked ring member can take it. */
  #sendViaRing(to: string, data: SignalEnvelope): boolean {
    if (!this.#ring || this.#ring.destroyed || to === this.#self) return false;
    const sent = this.#forward({ origin: this.#self, target: to, hops: 0, data }, null);
    if (sent) this.#counts.viaRing++;
    return sent;
  }

  /**
   * Handles a ROUTE frame from a linked peer; a malformed one, or a loop, drops that peer.
   * Resolves once it has been handled (its signature checked); never rejects.
   */
  handleRouteFrame(from: string, frame: Uint8Array): Promise<void> {
    if (this.#destroyed || !this.#ring || this.#ring.destroyed) return this.#inbox;
    let signal: RoutedSignal;
    try {
      signal = decodeRouteFrame(frame);
    } catch (err) {
      if (!(err instanceof RingswarmError)) throw err;
      this.#dropPeer(from, ErrorCode.BAD_FRAME, err.message);
      return this.#inbox;
    }
    if (signal.origin === signal.target) {
      // A signal "from X to X" can only circle: whoever sent it is misbehaving.
      this.#counts.dropped++;
      this.#dropPeer(from, ErrorCode.ROUTE_LOOP, 'routed a signal to its own origin');
      return this.#inbox;
    }
    if (signal.origin === this.#self) {
      // Our own signal came back: a loop somewhere; drop it.
      this.#counts.dropped++;
      return this.#inbox;
    }
    // Checked at every hop, before anything is learned from it: a frame that claims an
    // origin it cannot sign for is neither delivered, nor forwarded, nor a return hop.
    return this.#inOrder(verifySignalEnvelopeAsync(signal.data, signal.origin, signal.target), (verified) => {
      if (!verified) {
        this.#refuse(signal.origin, 'ring');
        return;
      }
      this.#rememberReturnHop(signal.origin, from);
      if (signal.target === this.#self) {
        this.#counts.received++;
        this.#apply(signal.origin, verified, 'ring');
        return;
      }
      if (signal.hops + 1 > ROUTE_MAX_HOPS || !this.#forward({ ...signal, hops: signal.hops + 1 }, from)) {
        this.#counts.dropped++;
        return;
      }
      this.#counts.relayed++;
    });
  }

  /** Hands a routed signal to the next hop (never back to `from`); false when there is none. */
  #forward(signal: RoutedSignal, from: string | null): boolean {
    const ring = this.#ring;
    if (!ring) return false;
    const frame = encodeRouteFrame(signal);
    if (this.#sendIfOpen(signal.target, frame)) return true;
    const back = this.#returnHops.get(signal.target);
    if (back && back.via !== from && back.expires > this.#deps.clock.now() && this.#sendIfOpen(back.via, frame)) {
      return true;
    }
    const candidates: string[] = [];
    for (const peer of this.#deps.links.routablePeers()) if (peer !== from) candidates.push(peer);
    const hop = ring.nextHopTowards(signal.target, candidates);
    if (hop !== null) return this.#sendIfOpen(hop, frame);
    // Not in the ring yet: our bootstrap member routes for us.
    if (!ring.joined && from === null) {
      const first = candidates[0];
      if (first !== undefined) return this.#sendIfOpen(first, frame);
    }
    return false;
  }

  /**
   * Sends over an already open link only. True when the link took the frame: a full channel
   * still delivers it, in order, so backpressure does not matter for a signal this small.
   */
  #sendIfOpen(peerId: string, frame: Uint8Array): boolean {
    const entry = this.#deps.links.get(peerId);
    if (!entry?.link.connected) return false;
    entry.link.send(frame);
    return true;
  }

  #rememberReturnHop(origin: string, via: string): void {
    this.#returnHops.delete(origin);
    if (this.#returnHops.size >= MAX_RETURN_HOPS) {
      const oldest = this.#returnHops.keys().next().value;
      if (oldest !== undefined) this.#returnHops.delete(oldest);
    }
    this.#returnHops.set(origin, { via, expires: this.#deps.clock.now() + RETURN_HOP_MS });
  }

  #dropPeer(peerId: string, code: ErrorCode, why: string): void {
    this.#peersDropped++;
    this.emit('warning', new RingswarmError(code, `peer ${peerId}: ${why}`));
    this.#deps.links.drop(peerId, code);
  }

  /** Signals by path, and the peers dropped for bad routing. */
  stats(): { signals: SignalStats; peersDropped: number } {
    return { signals: { ...this.#counts }, peersDropped: this.#peersDropped };
  }

  /** Stops every replay timer and forgets all sessions; the links stay the pool's. Idempotent. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#deps.links.off('link-close', this.#onLinkClose);
    for (const session of this.#sessions.values()) this.#deps.clock.clearTimeout(session.fallbackTimer);
    this.#sessions.clear();
    this.#returnHops.clear();
    this.#usedSessions.clear();
    this.#failedAt.clear();
    this.emit('close');
    this.removeAllListeners();
  }
}
