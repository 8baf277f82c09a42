/**
 * SHA-256 on a page without WebCrypto (plain HTTP has no `crypto.subtle`): the engine's
 * sha256 falls back to hash-wasm and gives the same digests as Node's own, alone and when
 * many calls overlap on the one WebAssembly hasher.
 */
import { randomBytes } from 'node:crypto';
import { sha256, sha256Hex } from '@ringswarm/shared';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sha } from '../helpers/sha.js';

describe('sha256 without crypto.subtle', () => {
  afterEach(() => vi.unstubAllGlobals());

  const insecure = () => {
    // What a page on plain HTTP sees: getRandomValues, but no subtle.
    const real = globalThis.crypto;
    vi.stubGlobal('crypto', { getRandomValues: real.getRandomValues.bind(real) });
    expect(globalThis.crypto.subtle).toBeUndefined();
  };

  it('gives the digests WebCrypto gives, for empty, small, odd-sized and piece-sized inputs', async () => {
    const inputs = [0, 1, 55, 56, 64, 1000, 16 * 1024, 256 * 1024 + 3].map((n) => new Uint8Array(randomBytes(n)));
    const withSubtle = await Promise.all(inputs.map((b) => sha256Hex(b)));
    insecure();
    const fallback = await Promise.all(inputs.map((b) => sha256Hex(b)));
    expect(fallback).toEqual(inputs.map((b) => sha(b)));
    expect(fallback).toEqual(withSubtle);
    expect(fallback[0]).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('keeps overlapping calls apart, and hashes a subarray view by its own bytes', async () => {
    insecure();
    const buffer = new Uint8Array(randomBytes(64 * 1024));
    const views = Array.from({ length: 32 }, (_, i) => buffer.subarray(i * 1000, i * 1000 + 5000 + i));
    const digests = await Promise.all(views.map((v) => sha256(v)));
    expect(digests.map((d) => Buffer.from(d).toString('hex'))).toEqual(views.map((v) => sha(v)));
  });
});
