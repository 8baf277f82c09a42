import { createHash } from 'node:crypto';

/** SHA-256 of bytes (or a UTF-8 string) as lowercase hex, computed by Node: the tests' reference. */
export function sha(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}
