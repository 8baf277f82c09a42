/**
 * Identifiers on the m-bit Chord circle. Peer IDs and keys share one space of 2^m points;
 * they are bigints inside the ring code and hex strings (ceil(m / 4) digits) at the edges.
 */

/** Bits in an identifier by default: SHA-1-sized, the same as the project's 40-hex-digit peer IDs. */
export const RING_DEFAULT_BITS = 160;
/** The smallest identifier width the ring accepts (tests use m = 8). */
export const RING_MIN_BITS = 8;

/** The identifier space of one ring: its width m and the modular arithmetic on it. */
export class RingSpace {
  readonly bits: number;
  /** 2^m, the number of points on the circle. */
  readonly size: bigint;
  /** Hex digits in an identifier's written form. */
  readonly hexLength: number;
  readonly #mask: bigint;

  constructor(bits: number = RING_DEFAULT_BITS) {
    if (!Number.isInteger(bits) || bits < RING_MIN_BITS) {
      throw new RangeError(`ring width must be an integer >= ${RING_MIN_BITS}, got ${bits}`);
    }
    this.bits = bits;
    this.size = 1n << BigInt(bits);
    this.#mask = this.size - 1n;
    this.hexLength = Math.ceil(bits / 4);
  }

  /** True when `id` is an identifier of this space (0 <= id < 2^m). */
  contains(id: bigint): boolean {
    return id >= 0n && id <= this.#mask;
  }

  /** (a + b) mod 2^m. */
  add(a: bigint, b: bigint): bigint {
    return (a + b) & this.#mask;
  }

  /** Clockwise distance from `from` to `to`: (to - from) mod 2^m, 0 when equal. */
  distance(from: bigint, to: bigint): bigint {
    return (to - from) & this.#mask;
  }

  /** The start of finger i: (id + 2^i) mod 2^m. */
  fingerStart(id: bigint, i: number): bigint {
    return this.add(id, 1n << BigInt(i));
  }

  /**
   * x in the open arc (a, b), walking clockwise from a. When a == b the arc is the whole
   * circle except a (a ring of one node owns everything).
   */
  between(x: bigint, a: bigint, b: bigint): boolean {
    if (a === b) return x !== a;
    return this.distance(a, x) > 0n && this.distance(a, x) < this.distance(a, b);
  }

  /** x in the half-open arc (a, b]; when a == b, the whole circle. */
  betweenRight(x: bigint, a: bigint, b: bigint): boolean {
    if (a === b) return true;
    const dx = this.distance(a, x);
    return dx > 0n && dx <= this.distance(a, b);
  }

  /** Parses an identifier written as hex (any case, at most hexLength digits, below 2^m). */
  fromHex(hex: string): bigint {
    if (hex.length === 0 || hex.length > this.hexLength || !/^[0-9a-fA-F]+$/.test(hex)) {
      throw new RangeError(`ring identifier must be 1..${this.hexLength} hex digits`);
    }
    const id = BigInt(`0x${hex}`);
    if (!this.contains(id)) throw new RangeError(`ring identifier ${hex} is not below 2^${this.bits}`);
    return id;
  }

  /** Writes an identifier as exactly hexLength lowercase hex digits. */
  toHex(id: bigint): string {
    if (!this.contains(id)) throw new RangeError('ring identifier out of range');
    return id.toString(16).padStart(this.hexLength, '0');
  }

  /** Reads an identifier from the top m bits of a digest (for keys: discovery keys, file-name hashes). */
  fromBytes(bytes: Uint8Array): bigint {
    let id = 0n;
    let have = 0;
    for (const b of bytes) {
      if (have >= this.bits) break;
      id = (id << 8n) | BigInt(b);
      have += 8;
    }
    if (have < this.bits) throw new RangeError(`need at least ${Math.ceil(this.bits / 8)} bytes for a ring identifier`);
    return id >> BigInt(have - this.bits);
  }
}
