/** `ringswarm ring`: a ring member that shares nothing itself (it routes, holds DHT records). */
import { plural } from '@ringswarm/shared';
import type { Output } from '../output.js';
import { type PeerOptions, STATUS_INTERVAL_MS, startPeer, untilStopped, watchRing } from './common.js';

export async function ring(options: PeerOptions, out: Output): Promise<number> {
  const peer = await startPeer(options.tracker, { ...options, ring: true }, out);
  const { client } = peer;
  watchRing(client, out);
  const human = out.json
    ? null
    : setInterval(() => {
        const s = client.ringStats();
        if (!s) return;
        const where = s.joined
          ? `${s.id.slice(0, 8)} · predecessor ${s.predecessor?.slice(0, 8) ?? 'none'} · successor ${s.successors[0]?.slice(0, 8) ?? 'itself'}`
          : 'joining…';
        out.status(
          `ring ${where} · ${plural(s.fingers.length, 'finger')} · ${plural(client.linkCount, 'link')} · ${s.dhtRecords} DHT keys · ${s.signals.relayed} signals relayed`,
          {},
        );
      }, STATUS_INTERVAL_MS);
  try {
    const signal = await untilStopped();
    out.event('stopped', { signal }, `\nStopped (${signal}).`);
    return 0;
  } finally {
    clearInterval(human ?? undefined);
    peer.stop();
  }
}
