/** Messages between the page and its storage/hashing worker (see hash-worker.ts). */

/** OPFS folder that holds every download, one subfolder per infohash. */
export const DOWNLOADS_DIR = 'downloads';
/** Name of a piece's file inside its download folder: the piece index in decimal. */
export const pieceFileName = (index: number): string => String(index);

/** Where a download's pieces are kept: OPFS files, or IndexedDB records (pages without OPFS). */
export type PieceStorage = 'opfs' | 'indexeddb';

export type WorkerRequest =
  /** Hash `files`, concatenated, in pieces of `pieceLength`. */
  | { id: number; type: 'hash'; files: File[]; pieceLength: number }
  /**
   * Check every piece kept for `infoHash` (in OPFS or IndexedDB) against `pieces`; pieces
   * that are short or wrong are deleted.
   */
  | {
      id: number;
      type: 'verify';
      storage: PieceStorage;
      infoHash: string;
      pieces: string[];
      pieceLength: number;
      length: number;
    }
  /** Write one file of a download folder (browsers without FileSystemFileHandle.createWritable). */
  | { id: number; type: 'write'; infoHash: string; name: string; data: Uint8Array };

export type WorkerReply =
  | { id: number; type: 'progress'; done: number; total: number }
  | { id: number; type: 'hashed'; pieces: string[] }
  | { id: number; type: 'verified'; indexes: number[] }
  | { id: number; type: 'written' }
  | { id: number; type: 'failed'; name: string; message: string };
