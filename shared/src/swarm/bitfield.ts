/** A fixed-length set of piece indexes, packed most-significant bit first (BitTorrent order). */
export class Bitfield {
  readonly bytes: Uint8Array;
  #count = 0;

  constructor(
    readonly length: number,
    bytes?: Uint8Array,
  ) {
    if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`bitfield length ${length} is invalid`);
    const size = Math.ceil(length / 8);
    if (bytes) {
      if (bytes.length !== size)
        throw new RangeError(`bitfield of ${length} bits needs ${size} bytes, got ${bytes.length}`);
      const spare = size * 8 - length;
      if (spare > 0 && (bytes[size - 1]! & ((1 << spare) - 1)) !== 0)
        throw new RangeError('bitfield has spare bits set');
      this.bytes = bytes.slice();
      for (let i = 0; i < length; i++) if (this.has(i)) this.#count++;
    } else {
      this.bytes = new Uint8Array(size);
    }
  }

  /** Number of set bits. */
  get count(): number {
    return this.#count;
  }

  get complete(): boolean {
    return this.#count === this.length;
  }

  has(index: number): boolean {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) return false;
    return (this.bytes[index >> 3]! & (0x80 >> (index & 7))) !== 0;
  }

  set(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.length)
      throw new RangeError(`bit ${index} out of range`);
    if (this.has(index)) return;
    this.bytes[index >> 3]! |= 0x80 >> (index & 7);
    this.#count++;
  }

  static full(length: number): Bitfield {
    const b = new Bitfield(length);
    for (let i = 0; i < length; i++) b.set(i);
    return b;
  }
}
