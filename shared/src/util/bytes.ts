/** Byte helpers shared by the codecs; pure and isomorphic. */
import { createSHA256, type IHasher } from 'hash-wasm';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += HEX[b];
  return out;
}

/** Parses lowercase or uppercase hex of even length; throws RangeError on anything else. */
export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new RangeError('invalid hex string');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

let wasmHasher: Promise<IHasher> | null = null;

/**
 * SHA-256 through WebCrypto (`globalThis.crypto.subtle`: browsers in secure contexts, Node
 * >= 19), else through hash-wasm's WebAssembly SHA-256: a page served over plain HTTP has no
 * `crypto.subtle`. WebCrypto is kept wherever it exists: it was faster at every piece
 * length in `npm run bench:hash`, and hash-wasm was faster than @noble/hashes.
 */
export async function sha256(data: Uint8Array): Promise<Uint8Array> {
  const subtle = globalThis.crypto?.subtle;
  if (subtle) return new Uint8Array(await subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>));
  wasmHasher ??= createSHA256();
  // init/update/digest run synchronously: calls never interleave on the one hasher.
  const hasher = await wasmHasher;
  hasher.init();
  hasher.update(data);
  return hasher.digest('binary');
}

export async function sha256Hex(data: Uint8Array): Promise<string> {
  return toHex(await sha256(data));
}

/** Random bytes from the platform CSPRNG; pass your own source where determinism matters. */
export function randomBytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  globalThis.crypto.getRandomValues(out);
  return out;
}
