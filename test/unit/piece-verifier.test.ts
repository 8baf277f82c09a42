/** PieceVerifier on its own: hash checks, liar bans and suspect pieces. */
import { randomBytes } from 'node:crypto';
import { BLOCK_LENGTH, PieceVerifier, type ReceivedPiece, sha256Hex } from '@ringswarm/shared';
import { beforeAll, describe, expect, it } from 'vitest';

const LIAR = 'a'.repeat(40);
const HONEST = 'b'.repeat(40);
const OTHER = 'c'.repeat(40);

function recordingVerifier() {
  const bans: [remoteId: string, message: string][] = [];
  const warnings: [code: string, remoteIds: string][] = [];
  const verifier = new PieceVerifier({
    banned: (remoteId, message) => bans.push([remoteId, message]),
    warning: (error, remoteIds) => warnings.push([error.code, remoteIds]),
  });
  return { verifier, bans, warnings };
}

/** A piece of two blocks, the first from `first`, the second from `second`. */
function twoBlocks(data: Uint8Array, first: string, second: string): ReceivedPiece {
  return {
    data: data.slice(),
    received: new Map([
      [0, first],
      [BLOCK_LENGTH, second],
    ]),
  };
}

describe('PieceVerifier', () => {
  const good = new Uint8Array(randomBytes(2 * BLOCK_LENGTH));
  let hash = '';
  beforeAll(async () => {
    hash = await sha256Hex(good);
  });
  const corrupt = good.slice();
  corrupt[5]! ^= 0xff; // in the first block

  it('accepts a piece that matches, and keeps it "being verified" until settled', async () => {
    const { verifier, bans, warnings } = recordingVerifier();
    const verdict = verifier.verify(3, hash, twoBlocks(good, HONEST, HONEST));
    expect(verifier.isVerifying(3)).toBe(true);
    expect(await verdict).toBe('good');
    expect(verifier.isVerifying(3)).toBe(true);
    verifier.settle(3);
    expect(verifier.isVerifying(3)).toBe(false);
    expect(bans).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it('bans the one peer that sent a whole bad piece', async () => {
    const { verifier, bans, warnings } = recordingVerifier();
    expect(await verifier.verify(0, hash, twoBlocks(corrupt, LIAR, LIAR))).toBe('bad');
    expect(bans).toEqual([[LIAR, 'piece 0 failed its hash check']]);
    expect(verifier.isBanned(LIAR)).toBe(true);
    expect(verifier.isBanned(HONEST)).toBe(false);
    expect(verifier.isVerifying(0)).toBe(false);
    expect(verifier.isSuspect(0)).toBe(false);
    expect(warnings).toEqual([]);
  });

  it('with blocks from several peers, bans nobody at first; once a copy verifies, bans only the liar', async () => {
    const { verifier, bans, warnings } = recordingVerifier();
    expect(await verifier.verify(1, hash, twoBlocks(corrupt, LIAR, HONEST))).toBe('bad');
    expect(bans).toEqual([]);
    expect(warnings).toEqual([['ERR_BAD_PIECE', `${LIAR},${HONEST}`]]);
    expect(verifier.isSuspect(1)).toBe(true);
    expect(verifier.isVerifying(1)).toBe(false);

    // Fetched again from one peer only, it verifies: the first copy's first block differed.
    expect(await verifier.verify(1, hash, twoBlocks(good, OTHER, OTHER))).toBe('good');
    expect(bans).toEqual([[LIAR, 'sent a bad block of piece 1']]);
    expect(verifier.isBanned(LIAR)).toBe(true);
    expect(verifier.isBanned(HONEST)).toBe(false);
    expect(verifier.isSuspect(1)).toBe(false);
  });

  it('keeps the first suspect copy when the piece fails again', async () => {
    const { verifier, bans } = recordingVerifier();
    await verifier.verify(2, hash, twoBlocks(corrupt, LIAR, HONEST));
    // A second failure from two others does not replace who sent what the first time.
    const otherCorrupt = good.slice();
    otherCorrupt[BLOCK_LENGTH + 1]! ^= 0xff;
    await verifier.verify(2, hash, twoBlocks(otherCorrupt, OTHER, HONEST));
    await verifier.verify(2, hash, twoBlocks(good, HONEST, HONEST));
    expect(bans).toEqual([[LIAR, 'sent a bad block of piece 2']]);
  });

  it('ban() bans without a report; after destroy a hash that finishes gives no verdict', async () => {
    const { verifier, bans } = recordingVerifier();
    verifier.ban(OTHER);
    expect(verifier.isBanned(OTHER)).toBe(true);
    expect(bans).toEqual([]);
    const verdict = verifier.verify(0, hash, twoBlocks(corrupt, LIAR, LIAR));
    verifier.destroy();
    expect(await verdict).toBeNull();
    expect(bans).toEqual([]);
  });
});
