/**
 * Stable error codes of the ring and its DHT. Tests and callers match on the code.
 */
export const RingErrorCode = {
  /** An inbound ring message failed validation. */
  BAD_MESSAGE: 'ERR_RING_BAD_MESSAGE',
  /** A lookup ran out of live nodes to ask before it found the key's owner. */
  LOOKUP_FAILED: 'ERR_RING_LOOKUP_FAILED',
  /** Joining failed: the bootstrap member or the owner of our ID did not answer. */
  JOIN_FAILED: 'ERR_RING_JOIN_FAILED',
  /** The operation needs a node that has joined (or created) a ring. */
  NOT_JOINED: 'ERR_RING_NOT_JOINED',
  /** The node was destroyed. */
  DESTROYED: 'ERR_RING_DESTROYED',
} as const;

export type RingErrorCode = (typeof RingErrorCode)[keyof typeof RingErrorCode];

/** An error from the ring that carries a stable code. */
export class RingError extends Error {
  constructor(
    readonly code: RingErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RingError';
  }
}
