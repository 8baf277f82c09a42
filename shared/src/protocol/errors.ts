/**
 * Stable error codes. Tests and clients match on the code, never on the message text.
 */
export const ErrorCode = {
  /** An inbound event or frame failed validation. */
  INVALID_PAYLOAD: 'ERR_INVALID_PAYLOAD',
  /** The connection handshake lacked a valid peer ID or protocol version. */
  INVALID_HANDSHAKE: 'ERR_INVALID_HANDSHAKE',
  /** The peer speaks another protocol version. */
  VERSION_MISMATCH: 'ERR_VERSION_MISMATCH',
  /**
   * A newer connection proved this peer ID's key and replaced this one (counted by the
   * tracker when it closes the stale socket; the owner reconnecting is the usual cause).
   */
  DUPLICATE_PEER_ID: 'ERR_DUPLICATE_PEER_ID',
  /**
   * The tracker handshake did not prove the peer ID: the public key does not hash to it, the
   * signature does not verify, its timestamp is more than 60 s off, or its nonce was used.
   */
  BAD_PROOF: 'ERR_BAD_PROOF',
  /** The target of a signal is not connected. */
  UNKNOWN_PEER: 'ERR_UNKNOWN_PEER',
  /** The sender may not signal that peer (no shared swarm, never introduced). */
  NOT_ALLOWED: 'ERR_NOT_ALLOWED',
  /** A payload exceeded its size cap. */
  PAYLOAD_TOO_LARGE: 'ERR_PAYLOAD_TOO_LARGE',
  /** An event was sent without an acknowledgement callback. */
  ACK_REQUIRED: 'ERR_ACK_REQUIRED',
  /** The event name is not part of the protocol. */
  UNKNOWN_EVENT: 'ERR_UNKNOWN_EVENT',
  /**
   * The socket sent events faster than its rate limit allows, or its address brought more new
   * peer IDs to the tracker than it allows per window.
   */
  RATE_LIMITED: 'ERR_RATE_LIMITED',
  /** The peer is already in as many swarms as one connection may join. */
  TOO_MANY_SWARMS: 'ERR_TOO_MANY_SWARMS',
  /** The server holds as many connections as it is configured for. */
  SERVER_FULL: 'ERR_SERVER_FULL',
  /** The tracker did not answer in time. */
  TIMEOUT: 'ERR_TIMEOUT',
  /** A peer wire frame was truncated, unknown or out of range. */
  BAD_FRAME: 'ERR_BAD_FRAME',
  /** A peer sent data whose hash does not match the manifest. */
  BAD_PIECE: 'ERR_BAD_PIECE',
  /** A peer's manifest does not hash to the infohash in the link. */
  BAD_METADATA: 'ERR_BAD_METADATA',
  /** The remote handshake named another swarm or protocol. */
  BAD_HANDSHAKE: 'ERR_BAD_HANDSHAKE',
  /**
   * A swarm peer could not prove it holds the share link (the infohash), or its proof does not
   * cover this connection's DTLS certificates (a relay in the middle). It learns nothing.
   */
  CAPABILITY: 'ERR_CAPABILITY',
  /** The operator of this server has blocked this share (its deny list). */
  BLOCKED: 'ERR_BLOCKED',
  /**
   * The CLI's identity file (`--identity FILE`) belongs to another user, is readable by others,
   * is damaged, or cannot be written. It is never overwritten.
   */
  IDENTITY_STORE: 'ERR_IDENTITY_STORE',
  /** Local storage could not read or write a piece. */
  STORAGE: 'ERR_STORAGE',
  /** A share link could not be parsed. */
  BAD_LINK: 'ERR_BAD_LINK',
  /** Saved resume data is damaged or belongs to another share; it is thrown away. */
  BAD_RESUME_DATA: 'ERR_BAD_RESUME_DATA',
  /** A peer routed signaling in a loop (to its own origin) through the ring. */
  ROUTE_LOOP: 'ERR_ROUTE_LOOP',
  /**
   * A signal was unsigned, or its signature, key or fields do not check out for the peer it
   * claims to come from (forged, tampered, or meant for someone else); it is dropped. Also the
   * code a link is closed with when it carries ring frames without having been set up through
   * verified signals.
   */
  BAD_SIGNATURE: 'ERR_BAD_SIGNATURE',
  /** The connection budget is full and no link could be evicted for a new one. */
  TOO_MANY_LINKS: 'ERR_TOO_MANY_LINKS',
  /**
   * A peer connection never opened: ICE found no working candidate pair before it failed or
   * timed out (typically both peers behind NATs with no STUN/TURN configured).
   */
  NO_ROUTE: 'ERR_NO_ROUTE',
  /** An inbound ring message failed validation. */
  RING_BAD_MESSAGE: 'ERR_RING_BAD_MESSAGE',
  /** A lookup ran out of live nodes to ask before it found the key's owner. */
  RING_LOOKUP_FAILED: 'ERR_RING_LOOKUP_FAILED',
  /** Joining failed: the bootstrap member or the owner of our ID did not answer. */
  RING_JOIN_FAILED: 'ERR_RING_JOIN_FAILED',
  /** The operation needs a node that has joined (or created) a ring. */
  RING_NOT_JOINED: 'ERR_RING_NOT_JOINED',
  /** The node was destroyed. */
  RING_DESTROYED: 'ERR_RING_DESTROYED',
  /**
   * The tracker refused a connection before the upgrade: its source address (an IPv6 /64)
   * already holds `--max-conns-per-ip` connections. Handshakes past `--handshakes-per-ip` are
   * refused with {@link ErrorCode.RATE_LIMITED}.
   */
  TOO_MANY_CONNECTIONS: 'ERR_TOO_MANY_CONNECTIONS',
  /**
   * A swarm peer let a request (a manifest chunk or a block) go unanswered past its timeout. It
   * is snubbed, not closed: nothing more is asked of it until it answers, and what it held is
   * asked of others. Reported once per connection.
   */
  PEER_TIMEOUT: 'ERR_PEER_TIMEOUT',
  /**
   * A link's send queue (frames held before the channel opened, or bytes and frames the open
   * channel has not sent yet) would pass its hard cap; the link is closed with this code.
   */
  LINK_QUEUE_FULL: 'ERR_LINK_QUEUE_FULL',
  /**
   * A local file cannot be shared under its name: it has a bidi control or zero-width
   * character, it would be saved as the same file as another one (case, Unicode form, or
   * characters Windows refuses), or it is the resume folder `.ringswarm`.
   */
  UNSAFE_NAME: 'ERR_UNSAFE_NAME',
  /**
   * A path under the download folder is a symbolic link, or an existing entry there is not a
   * regular file or folder: the CLI never writes through it.
   */
  UNSAFE_PATH: 'ERR_UNSAFE_PATH',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** What `ERR_NO_ROUTE` means, for people (the page and the CLI show it as is). */
export const NO_ROUTE_MESSAGE = 'no route between peers; configure STUN/TURN';

/** An error that carries a stable code. */
export class RingswarmError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RingswarmError';
  }
}

/** The ring's codes under their short names (`RingErrorCode.NOT_JOINED`); the same strings as in {@link ErrorCode}. */
export const RingErrorCode = {
  BAD_MESSAGE: ErrorCode.RING_BAD_MESSAGE,
  LOOKUP_FAILED: ErrorCode.RING_LOOKUP_FAILED,
  JOIN_FAILED: ErrorCode.RING_JOIN_FAILED,
  NOT_JOINED: ErrorCode.RING_NOT_JOINED,
  DESTROYED: ErrorCode.RING_DESTROYED,
} as const;

export type RingErrorCode = (typeof RingErrorCode)[keyof typeof RingErrorCode];
