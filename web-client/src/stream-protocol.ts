/**
 * How the service worker and the page talk about a stream URL (types only: the service worker
 * imports nothing at run time).
 *
 * A player asks for `GET /stream/<infohash>/<file index>/<name>` with a Range header. The
 * service worker posts a {@link StreamRequest} with a MessagePort to the page that asked (then
 * to every other tab of this origin), and that page answers on the port: one
 * {@link StreamHead} (or a {@link StreamRefusal}), then a {@link StreamChunk} or
 * {@link StreamEnd} for each {@link StreamPull}, until the end or a {@link StreamCancel}.
 * The bytes are the download's verified pieces; missing ones are fetched first and waited for
 * (file-stream.ts).
 */

/** Where stream URLs live. */
export const STREAM_PATH = '/stream/';

/** Service worker → page (a window message, with one port). */
export interface StreamRequest {
  type: 'ringswarm-stream';
  infoHash: string;
  fileIndex: number;
  /** First byte wanted. */
  start: number;
  /** One past the last byte wanted; null for "to the end of the file". */
  end: number | null;
  /** Set for a suffix range (`bytes=-N`): the last N bytes, whatever `start` and `end` say. */
  suffix: number | null;
}

/** Page → service worker: what the answer holds. `end` is exclusive; `length` is the file's. */
export interface StreamHead {
  type: 'head';
  start: number;
  end: number;
  length: number;
  mime: string;
}

/**
 * Page → service worker: no answer. `ERR_NOT_FOUND`: this page has no such download or file
 * (another tab may); `ERR_RANGE`: the range is past the end of a `length`-byte file;
 * `ERR_STORAGE`: a piece could not be read back.
 */
export interface StreamRefusal {
  type: 'error';
  code: 'ERR_NOT_FOUND' | 'ERR_RANGE' | 'ERR_STORAGE';
  length?: number;
}

/** Service worker → page: the player wants the next chunk. */
export interface StreamPull {
  type: 'pull';
}

/** Service worker → page: the player went away (or seeked elsewhere). */
export interface StreamCancel {
  type: 'cancel';
}

/** Page → service worker: the next bytes of the range (the buffer is transferred). */
export interface StreamChunk {
  type: 'chunk';
  bytes: ArrayBuffer;
}

/** Page → service worker: the range is all sent, or the download closed. */
export interface StreamEnd {
  type: 'end';
}

export type PageToWorker = StreamHead | StreamRefusal | StreamChunk | StreamEnd;
export type WorkerToPage = StreamPull | StreamCancel;
