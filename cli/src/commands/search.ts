/**
 * `ringswarm search <name>`: joins the ring, looks the exact name up in the DHT, prints the
 * links. Only shares seeded with --public publish their names; private ones cannot be found.
 */
import { formatShareLink } from '@ringswarm/shared';
import type { Output } from '../output.js';
import { type PeerOptions, startPeer } from './common.js';

/** How long `search` waits to join the ring. */
export const SEARCH_JOIN_TIMEOUT_MS = 30_000;

export async function search(name: string, options: PeerOptions, out: Output): Promise<number> {
  const peer = await startPeer(options.tracker, { ...options, ring: true }, out);
  const { client } = peer;
  let timer: NodeJS.Timeout | undefined;
  try {
    const joined = await Promise.race([
      new Promise<boolean>((resolve) => {
        if (client.overlay?.joined) resolve(true);
        else client.once('ring-joined', () => resolve(true));
      }),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), SEARCH_JOIN_TIMEOUT_MS);
      }),
    ]);
    if (!joined) {
      out.error(
        'ERR_RING_NOT_JOINED',
        `could not join the ring through ${options.tracker} within ${SEARCH_JOIN_TIMEOUT_MS / 1000} s`,
      );
      return 1;
    }
    const infoHashes = await client.searchByName(name);
    const links = infoHashes.map((h) => formatShareLink(options.tracker, h));
    out.event(
      'found',
      { name, infoHashes, links },
      links.length > 0
        ? links.join('\n')
        : `Nothing shared publicly under the exact name "${name}" right now. Only public shares (seeded with --public) can be found by name; a private share is found through its link only.`,
    );
    return 0;
  } finally {
    clearTimeout(timer);
    peer.stop();
  }
}
