import {
  type CreateLink,
  Emitter,
  type Link,
  type LinkEvents,
  type LinkFingerprints,
  type SelectedPair,
} from '@ringswarm/shared';
import { fakeFingerprint } from './fake-link.js';

/**
 * A stand-in for PeerLink that the test drives by hand: nothing connects, signals or
 * arrives until the test says so (`open`, `emitSignal`, `receive`). It records what the code
 * under test fed it (`signalled`) and sent on it (`sent`).
 */
export class FakePeerLink extends Emitter<LinkEvents> implements Link {
  /** Signaling data the code under test fed in, in order. */
  readonly signalled: Record<string, unknown>[] = [];
  /** Frames the code under test sent, in order. */
  readonly sent: Uint8Array[] = [];
  /** What `send` answers (false: the channel is full). */
  sendResult = true;
  closeCode: string | undefined;
  /** What `fingerprints()` answers: fake certificates, ours and the remote's; null when unknown. */
  fingerprintPair: LinkFingerprints | null;
  #connected = false;
  #destroyed = false;
  /** Frames sent before `open`, which a real link would hold until its channel opens. */
  #unsent: Uint8Array[] = [];

  constructor(
    readonly remoteId: string,
    readonly initiator: boolean,
  ) {
    super();
    this.fingerprintPair = { local: fakeFingerprint(`local-of:${remoteId}`), remote: fakeFingerprint(remoteId) };
  }

  fingerprints(): LinkFingerprints | null {
    return this.fingerprintPair;
  }

  get connected(): boolean {
    return this.#connected && !this.#destroyed;
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  signal(data: Record<string, unknown>): void {
    if (!this.#destroyed) this.signalled.push(data);
  }

  send(frame: Uint8Array): boolean {
    if (this.#destroyed) return false;
    this.sent.push(frame);
    if (!this.#connected) this.#unsent.push(frame);
    return this.sendResult;
  }

  takeUnsent(): Uint8Array[] {
    return this.#unsent.splice(0);
  }

  close(code?: string): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#unsent = [];
    this.closeCode = code;
    this.emit('close', code);
    this.removeAllListeners();
  }

  async selectedPair(): Promise<SelectedPair | null> {
    return null;
  }

  /** The data channel opens. */
  open(): void {
    if (this.#destroyed || this.#connected) return;
    this.#connected = true;
    this.#unsent = [];
    this.emit('connect');
  }

  /** The WebRTC stack produced signaling data for the remote. */
  emitSignal(data: Record<string, unknown>): void {
    if (!this.#destroyed) this.emit('signal', data);
  }

  /** A frame arrives from the remote. */
  receive(frame: Uint8Array): void {
    if (!this.#destroyed) this.emit('frame', frame);
  }
}

/** A {@link CreateLink} that makes FakePeerLinks and keeps them, newest last. */
export class FakeLinkFactory {
  readonly made: FakePeerLink[] = [];

  readonly create: CreateLink = (remoteId, initiator) => {
    const link = new FakePeerLink(remoteId, initiator);
    this.made.push(link);
    return link;
  };

  /** The newest link made to `remoteId`. */
  last(remoteId: string): FakePeerLink {
    const link = this.made.findLast((l) => l.remoteId === remoteId);
    if (!link) throw new Error(`no link was made to ${remoteId}`);
    return link;
  }
}
