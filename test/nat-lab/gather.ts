/**
 * ICE gathering probe, run inside one namespace of the NAT lab: asks the tracker for its
 * ICE servers over a tracker socket (the `ice` event, the only place TURN credentials come
 * from, as the CLI and the page do), gathers the candidates that
 * @roamhq/wrtc finds with them from this namespace, and prints one JSON object:
 * `{ urls, candidates: [{ type, protocol, address, port }] }`.
 *
 *   node gather.js <tracker url>
 */
import { createRequire } from 'node:module';
import { randomIdentity, TrackerClient } from '@ringswarm/shared';

/** Stop gathering after this long even if the stack never says it is complete. */
const GATHER_TIMEOUT_MS = 8_000;
/**
 * Once every server offered has answered (a srflx candidate for STUN, a relay one for TURN),
 * wait this much longer for stragglers, then stop: libwebrtc otherwise keeps gathering until
 * its STUN requests from the loopback and IPv6 sockets, which can never be answered here,
 * time out after seconds.
 */
const SETTLE_MS = 300;

interface Candidate {
  type: string;
  protocol: string;
  address: string;
  port: number;
}

/** `candidate:1 1 udp 2122260223 192.0.2.2 40123 typ host generation 0` → its parts, or null. */
function parseCandidate(line: string): Candidate | null {
  const m = /^(?:a=)?candidate:\S+ \d+ (\w+) \d+ (\S+) (\d+) typ (\w+)/.exec(line);
  if (!m?.[1] || !m[2] || !m[3] || !m[4]) return null;
  return { type: m[4], protocol: m[1].toLowerCase(), address: m[2], port: Number(m[3]) };
}

/** How long to wait for the tracker socket and its `ice` answer. */
const ICE_TIMEOUT_MS = 8_000;

/** STUN and TURN (credentials labelled with a fresh peer ID) from the tracker's `ice` event. */
async function iceServersOverSocket(tracker: string): Promise<RTCIceServer[]> {
  const client = new TrackerClient(tracker, randomIdentity());
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error('the tracker socket did not connect')), ICE_TIMEOUT_MS);
      client.once('connect', resolve);
      client.once('error', reject);
    });
    return (await client.ice()).iceServers;
  } finally {
    clearTimeout(timer);
    client.destroy();
  }
}

interface Wrtc {
  RTCPeerConnection: typeof RTCPeerConnection;
}

async function main(): Promise<void> {
  const tracker = process.argv[2];
  if (!tracker) throw new Error('usage: gather.js <tracker url>');
  const iceServers = await iceServersOverSocket(tracker);
  const wrtc: Wrtc = createRequire(import.meta.url)('@roamhq/wrtc');
  const pc = new wrtc.RTCPeerConnection({ iceServers });
  const urls = iceServers.flatMap((s) => (typeof s.urls === 'string' ? [s.urls] : s.urls));
  const wanted = [
    ...(urls.some((u) => /^stuns?:/.test(u)) ? ['srflx'] : []),
    ...(urls.some((u) => /^turns?:/.test(u)) ? ['relay'] : []),
  ];
  const candidates: Candidate[] = [];
  const complete = new Promise<void>((resolve) => {
    let timer = setTimeout(resolve, GATHER_TIMEOUT_MS);
    let settling = false;
    pc.onicecandidate = (e) => {
      if (e.candidate === null) {
        clearTimeout(timer);
        resolve();
        return;
      }
      const c = parseCandidate(e.candidate.candidate);
      if (c) candidates.push(c);
      if (!settling && wanted.length > 0 && wanted.every((t) => candidates.some((k) => k.type === t))) {
        settling = true;
        clearTimeout(timer);
        timer = setTimeout(resolve, SETTLE_MS);
      }
    };
  });
  pc.createDataChannel('probe');
  await pc.setLocalDescription(await pc.createOffer());
  await complete;
  pc.close();
  process.stdout.write(`${JSON.stringify({ urls, candidates })}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`gather: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
