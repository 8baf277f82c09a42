/**
 * Checking complete pieces against the manifest's hashes, and finding who lied. A piece
 * that fails with blocks from a single peer gets that peer banned at once. With blocks from
 * several we cannot tell which block was bad: the piece becomes a suspect, is fetched again
 * from one peer only, and once it verifies, whoever sent a block that differs is banned
 * (banning every contributor would let one liar get honest peers banned).
 */

import { ErrorCode, RingswarmError } from '../protocol/errors.js';
import { equalBytes, sha256Hex } from '../util/bytes.js';
import { BLOCK_LENGTH } from './wire-codec.js';

/** A complete piece and who sent each of its blocks (offset -> peer ID). */
export interface ReceivedPiece {
  data: Uint8Array;
  received: Map<number, string>;
}

/** A piece that failed its hash check with blocks from several peers: who sent what. */
interface Suspect {
  data: Uint8Array;
  from: Map<number, string>;
}

export interface VerifierHooks {
  /** `remoteId` is banned for `message`: close its link if it is connected. */
  banned(remoteId: string, message: string): void;
  /** A piece failed with blocks from several peers (`remoteIds`, comma-separated). */
  warning(error: RingswarmError, remoteIds: string): void;
}

/** What {@link PieceVerifier.verify} found: null when the verifier was destroyed meanwhile. */
export type PieceVerdict = 'good' | 'bad' | null;

export class PieceVerifier {
  readonly #hooks: VerifierHooks;
  /** Complete pieces whose hash is being checked (or that are being stored): not to be requested again meanwhile. */
  readonly #verifying = new Set<number>();
  readonly #suspects = new Map<number, Suspect>();
  readonly #banned = new Set<string>();
  #destroyed = false;

  constructor(hooks: VerifierHooks) {
    this.#hooks = hooks;
  }

  /** True from {@link verify} until the verdict is bad or {@link settle} is called. */
  isVerifying(index: number): boolean {
    return this.#verifying.has(index);
  }

  /** True for a piece to be fetched from a single peer (see the file comment). */
  isSuspect(index: number): boolean {
    return this.#suspects.has(index);
  }

  isBanned(remoteId: string): boolean {
    return this.#banned.has(remoteId);
  }

  /** Bans a peer without telling anyone (the caller closes its link). */
  ban(remoteId: string): void {
    this.#banned.add(remoteId);
  }

  /**
   * Hashes a complete piece and compares it with `expected`. Bad: the piece is no longer
   * being verified, and the liar is banned or the piece becomes a suspect. Good: whoever
   * sent a differing block of an earlier copy is banned, and the piece stays "being
   * verified" until the caller stored it and calls {@link settle}.
   */
  async verify(index: number, expected: string | undefined, piece: ReceivedPiece): Promise<PieceVerdict> {
    this.#verifying.add(index);
    const hash = await sha256Hex(piece.data);
    if (this.#destroyed) return null;
    if (hash !== expected) {
      this.#verifying.delete(index);
      this.#onBadPiece(index, piece);
      return 'bad';
    }
    this.#banLiars(index, piece.data);
    return 'good';
  }

  /** A good piece was stored (or failed to be): it may be requested again if still missing. */
  settle(index: number): void {
    this.#verifying.delete(index);
  }

  /** Ignores hashes that finish from now on. Idempotent. */
  destroy(): void {
    this.#destroyed = true;
  }

  #onBadPiece(index: number, piece: ReceivedPiece): void {
    const senders = new Set(piece.received.values());
    if (senders.size === 1) {
      const [liar] = senders as Set<string>;
      this.#ban(liar!, `piece ${index} failed its hash check`);
      return;
    }
    if (!this.#suspects.has(index)) this.#suspects.set(index, { data: piece.data, from: piece.received });
    this.#hooks.warning(
      new RingswarmError(ErrorCode.BAD_PIECE, `piece ${index} failed its hash check`),
      [...senders].join(','),
    );
  }

  /** After a suspect piece verified: bans the peers whose earlier blocks differ from it. */
  #banLiars(index: number, good: Uint8Array): void {
    const suspect = this.#suspects.get(index);
    if (!suspect) return;
    this.#suspects.delete(index);
    for (const [begin, remoteId] of suspect.from) {
      const end = Math.min(begin + BLOCK_LENGTH, good.length);
      if (!equalBytes(suspect.data.subarray(begin, end), good.subarray(begin, end))) {
        this.#ban(remoteId, `sent a bad block of piece ${index}`);
      }
    }
  }

  #ban(remoteId: string, message: string): void {
    this.#banned.add(remoteId);
    this.#hooks.banned(remoteId, message);
  }
}
