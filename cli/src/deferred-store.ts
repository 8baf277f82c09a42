import type { PieceStore } from '@ringswarm/shared';

/**
 * A store that exists before its manifest does: a download knows where files go only once
 * the manifest arrives from a peer. No piece can arrive before that, so nothing waits.
 */
export class DeferredPieceStore implements PieceStore {
  #inner: PieceStore | null = null;

  attach(store: PieceStore): void {
    this.#inner = store;
  }

  read(index: number, begin: number, length: number): Promise<Uint8Array> {
    if (!this.#inner) return Promise.reject(new Error('no manifest yet'));
    return this.#inner.read(index, begin, length);
  }

  write(index: number, data: Uint8Array): Promise<void> {
    if (!this.#inner) return Promise.reject(new Error('no manifest yet'));
    return this.#inner.write(index, data);
  }

  destroy(): void {
    this.#inner?.destroy();
  }
}
