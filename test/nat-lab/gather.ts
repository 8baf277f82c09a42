/**
 * ICE gathering probe, run inside one namespace of the NAT lab: asks the tracker for its
 * ICE servers (GET /api/ice, as the CLI and the page do), gathers the candidates that
 * @roamhq/wrtc finds with them from this namespace, and prints one JSON object:
 * `{ urls, candidates: [{ type, protocol, address, port }] }`.
 *
 *   node gather.js <tracker url>
 */
import { createRequire } from 'node:module';

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

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** `candidate:1 1 udp 2122260223 192.0.2.2 40123 typ host generation 0` → its parts, or null. */
function parseCandidate(line: string): Candidate | null {
  const m = /^(?:a=)?candidate:\S+ \d+ (\w+) \d+ (\S+) (\d+) typ (\w+)/.exec(line);
  if (!m?.[1] || !m[2] || !m[3] || !m[4]) return null;
  return { type: m[4], protocol: m[1].toLowerCase(), address: m[2], port: Number(m[3]) };
}

/** The ICE servers of a /api/ice answer: entries with string urls, and credentials when given. */
function iceServersOf(body: unknown): RTCIceServer[] {
  if (!isRecord(body) || !Array.isArray(body.iceServers)) throw new Error('/api/ice did not answer {iceServers}');
  return body.iceServers.flatMap((s: unknown): RTCIceServer[] => {
    if (!isRecord(s)) return [];
    const urls = (Array.isArray(s.urls) ? s.urls : [s.urls]).filter((u): u is string => typeof u === 'string');
    if (urls.length === 0) return [];
    const server: RTCIceServer = { urls };
    if (typeof s.username === 'string') server.username = s.username;
    if (typeof s.credential === 'string') server.credential = s.credential;
    return [server];
  });
}

interface Wrtc {
  RTCPeerConnection: typeof RTCPeerConnection;
}

async function main(): Promise<void> {
  const tracker = process.argv[2];
  if (!tracker) throw new Error('usage: gather.js <tracker url>');
  const iceServers = iceServersOf(await (await fetch(new URL('/api/ice', tracker))).json());
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
