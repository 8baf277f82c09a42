/**
 * Byte ranges of several files laid end to end (a share's files in manifest order), read
 * without loading the files: only the slices a range covers are read. No DOM beyond Blob,
 * so the page and its worker both use it.
 */

/** Reads `length` bytes at `offset` of `files` taken as one stream. */
export function filesReader(
  files: readonly Blob[],
): (offset: number, length: number) => Promise<Uint8Array<ArrayBuffer>> {
  return async (offset, length) => {
    const parts: Blob[] = [];
    let start = 0;
    for (const file of files) {
      const end = start + file.size;
      if (end > offset && start < offset + length) {
        parts.push(file.slice(Math.max(0, offset - start), Math.min(file.size, offset + length - start)));
      }
      start = end;
    }
    return new Uint8Array(await new Blob(parts).arrayBuffer());
  };
}
