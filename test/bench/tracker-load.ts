/**
 * Load generator for `npm run bench:tracker`, run as its own process so it does not share
 * an event loop with the server it measures. Speaks either ringswarm's tracker protocol
 * (socket.io's wire format, written directly over `ws` to keep the client side lean) or
 * bittorrent-tracker's WebSocket protocol, to loopback addresses only.
 *
 * `--port` may list several ports (instances of one cluster): peer i connects to port
 * i mod n, so the two partners of each swarm pair sit on different instances.
 *
 * Phases: connect every peer and announce once, print `ready`, wait for `go` on stdin;
 * then an open-loop latency phase (every peer announces `rate` times a second, so the
 * offered load is fixed and p50/p99 mean something), a closed-loop announce phase
 * (throughput at saturation), a closed-loop signal phase; print one JSON line.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { randomIdentity, signTrackerAuth, TrackerFeature } from '@ringswarm/shared';
import WebSocket from 'ws';

const { values } = parseArgs({
  options: {
    target: { type: 'string' },
    port: { type: 'string' },
    peers: { type: 'string', default: '5000' },
    swarms: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '10' },
    numwant: { type: 'string', default: '10' },
    rate: { type: 'string', default: '1' },
  },
});
const TARGET = values.target === 'bt' ? 'bt' : 'ours';
const PORTS = String(values.port).split(',').map(Number);
const PEERS = Number(values.peers);
const SWARMS = Number(values.swarms);
const SECONDS = Number(values.seconds);
const NUMWANT = Number(values.numwant);
const RATE = Number(values.rate);
const CONNECT_BATCH = 250;
const HOST = '127.0.0.1';

/** A candidate-sized signaling payload (~200 bytes), as browsers trickle them. */
const CANDIDATE =
  'candidate:842163049 1 udp 1677729535 198.51.100.7 46154 typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag sEMT network-cost 999';

interface LoadPeer {
  /** Sends an announce and resolves when the tracker answers it. */
  announce(event: 'started' | 'update'): Promise<void>;
  /** Sends a signal to `to`; the receiver's onSignal fires when it arrives. */
  signal(to: LoadPeer, seq: number): void;
  onSignal: (from: string, seq: number) => void;
  readonly id: string;
  close(): void;
}

// --- ringswarm: socket.io v4 / engine.io v4 frames over a raw WebSocket -------------------

class OursPeer implements LoadPeer {
  readonly identity = randomIdentity();
  readonly id = this.identity.peerId;
  onSignal: (from: string, seq: number) => void = () => {};
  #ws: WebSocket;
  #nextAck = 0;
  #acks = new Map<number, (res: { ok: boolean; code?: string }) => void>();
  /** The tracker's hello named signals without an ack: they go so, as the real client sends them. */
  #signalWithoutAck = false;

  private constructor(
    readonly infoHash: string,
    ws: WebSocket,
  ) {
    this.#ws = ws;
  }

  static connect(infoHash: string, port: number): Promise<OursPeer> {
    const ws = new WebSocket(`ws://${HOST}:${port}/socket.io/?EIO=4&transport=websocket`, { perMessageDeflate: false });
    const peer = new OursPeer(infoHash, ws);
    return new Promise((resolve, reject) => {
      ws.on('error', reject);
      ws.on('message', (raw: WebSocket.RawData) => {
        const text = raw.toString();
        if (text.startsWith('0')) {
          // The handshake proves the peer's key, as every real client's does.
          signTrackerAuth(peer.identity, Date.now()).then((auth) => ws.send(`40${JSON.stringify(auth)}`), reject);
        } else if (text === '2') ws.send('3');
        else if (text.startsWith('40')) resolve(peer);
        else if (text.startsWith('44')) reject(new Error(`refused: ${text}`));
        else peer.#onPacket(text);
      });
    });
  }

  #onPacket(text: string): void {
    if (text.startsWith('43')) {
      const bracket = text.indexOf('[');
      const id = Number(text.slice(2, bracket));
      const [res] = JSON.parse(text.slice(bracket));
      const ack = this.#acks.get(id);
      this.#acks.delete(id);
      ack?.(res);
    } else if (text.startsWith('42')) {
      const [event, msg] = JSON.parse(text.slice(2));
      if (event === 'signal') this.onSignal(msg.from, msg.data.seq);
      else if (event === 'hello') this.#signalWithoutAck = msg.features.includes(TrackerFeature.SIGNAL_WITHOUT_ACK);
      else if (event === 'signal:refused') throw new Error(`signal refused: ${msg.code}`);
    }
  }

  #emit(event: string, payload: unknown): Promise<{ ok: boolean; code?: string }> {
    const id = this.#nextAck++;
    return new Promise((resolve) => {
      this.#acks.set(id, resolve);
      this.#ws.send(`42${id}${JSON.stringify([event, payload])}`);
    });
  }

  async announce(event: 'started' | 'update'): Promise<void> {
    const res = await this.#emit('announce', {
      discoveryKey: this.infoHash,
      event,
      left: 1000,
      uploaded: 0,
      downloaded: 0,
      numwant: NUMWANT,
    });
    if (!res.ok) throw new Error(`announce refused: ${res.code}`);
  }

  signal(to: LoadPeer, seq: number): void {
    const request = { to: to.id, data: { type: 'candidate', seq, candidate: { candidate: CANDIDATE } } };
    if (this.#signalWithoutAck) {
      this.#ws.send(`42${JSON.stringify(['signal', request])}`);
      return;
    }
    void this.#emit('signal', request).then((res) => {
      if (!res.ok) throw new Error(`signal refused: ${res.code}`);
    });
  }

  close(): void {
    this.#ws.terminate();
  }
}

// --- bittorrent-tracker: JSON over WebSocket, 20-character binary IDs ----------------------

class BtPeer implements LoadPeer {
  readonly id: string;
  readonly binId: string;
  onSignal: (from: string, seq: number) => void = () => {};
  #ws: WebSocket;
  #pending: (() => void) | null = null;

  private constructor(
    readonly infoHash: string,
    ws: WebSocket,
  ) {
    const raw = randomBytes(20);
    this.id = raw.toString('hex');
    this.binId = raw.toString('latin1');
    this.#ws = ws;
    ws.on('message', (data: WebSocket.RawData) => {
      const msg = JSON.parse(data.toString());
      if (msg['failure reason']) throw new Error(`bittorrent-tracker: ${msg['failure reason']}`);
      if (msg.answer) {
        this.onSignal(Buffer.from(msg.peer_id, 'latin1').toString('hex'), msg.answer.seq);
      } else if (msg.action === 'announce') {
        const pending = this.#pending;
        this.#pending = null;
        pending?.();
      }
    });
  }

  static connect(infoHash: string, port: number): Promise<BtPeer> {
    const ws = new WebSocket(`ws://${HOST}:${port}`, { perMessageDeflate: false });
    return new Promise((resolve, reject) => {
      ws.once('error', reject);
      ws.once('open', () => resolve(new BtPeer(infoHash, ws)));
    });
  }

  announce(event: 'started' | 'update'): Promise<void> {
    return new Promise((resolve) => {
      this.#pending = resolve;
      this.#ws.send(
        JSON.stringify({
          action: 'announce',
          info_hash: this.infoHash,
          peer_id: this.binId,
          event: event === 'update' ? undefined : event,
          left: 1000,
          uploaded: 0,
          downloaded: 0,
          numwant: NUMWANT,
        }),
      );
    });
  }

  signal(to: LoadPeer, seq: number): void {
    this.#ws.send(
      JSON.stringify({
        action: 'announce',
        info_hash: this.infoHash,
        peer_id: this.binId,
        to_peer_id: (to as BtPeer).binId,
        offer_id: 'x'.repeat(20),
        answer: { type: 'answer', seq, sdp: CANDIDATE },
      }),
    );
  }

  close(): void {
    this.#ws.terminate();
  }
}

// --- phases ----------------------------------------------------------------------------------

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  const swarmKeys = Array.from({ length: SWARMS }, () =>
    TARGET === 'bt' ? randomBytes(20).toString('latin1') : randomBytes(32).toString('hex'),
  );
  // Peers 2k and 2k+1 share a swarm, so each has a partner it may signal.
  const swarmOf = (i: number) => swarmKeys[Math.floor(i / 2) % SWARMS]!;
  const connect = TARGET === 'bt' ? BtPeer.connect : OursPeer.connect;
  const peers: LoadPeer[] = [];
  for (let start = 0; start < PEERS; start += CONNECT_BATCH) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(CONNECT_BATCH, PEERS - start) }, (_, j) =>
        connect(swarmOf(start + j), PORTS[(start + j) % PORTS.length]!),
      ),
    );
    await Promise.all(batch.map((p) => p.announce('started')));
    peers.push(...batch);
  }
  process.stdout.write('ready\n');
  const rl = createInterface({ input: process.stdin });
  await new Promise<void>((resolve) => rl.once('line', () => resolve()));
  rl.close();

  // Latency phase: a fixed offered load of PEERS * RATE announces a second, open loop.
  const openLatencies: number[] = [];
  let deadline = performance.now() + SECONDS * 1000;
  await Promise.all(
    peers.map(async (peer) => {
      const period = 1000 / RATE;
      let next = performance.now() + Math.random() * period;
      while (next < deadline) {
        await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
        const sent = performance.now();
        await peer.announce('update');
        openLatencies.push(performance.now() - sent);
        next += period;
      }
    }),
  );

  // Announce phase: every peer announces again as soon as its last announce was answered.
  const announceLatencies: number[] = [];
  deadline = performance.now() + SECONDS * 1000;
  const t0 = performance.now();
  await Promise.all(
    peers.map(async (peer) => {
      while (performance.now() < deadline) {
        const sent = performance.now();
        await peer.announce('update');
        announceLatencies.push(performance.now() - sent);
      }
    }),
  );
  const announceSeconds = (performance.now() - t0) / 1000;

  // Signal phase: every peer signals its partner; the next one goes when the last arrived.
  const signalLatencies: number[] = [];
  const waiting = new Map<string, { seq: number; sent: number; resolve: () => void }>();
  for (const peer of peers) {
    peer.onSignal = (from, seq) => {
      const w = waiting.get(from);
      if (!w || w.seq !== seq) return;
      waiting.delete(from);
      signalLatencies.push(performance.now() - w.sent);
      w.resolve();
    };
  }
  deadline = performance.now() + SECONDS * 1000;
  const t1 = performance.now();
  await Promise.all(
    peers.map(async (peer, i) => {
      const partner = peers[i ^ 1];
      if (!partner) return;
      for (let seq = 0; performance.now() < deadline; seq++) {
        await new Promise<void>((resolve) => {
          waiting.set(peer.id, { seq, sent: performance.now(), resolve });
          peer.signal(partner, seq);
        });
      }
    }),
  );
  const signalSeconds = (performance.now() - t1) / 1000;

  openLatencies.sort((a, b) => a - b);
  announceLatencies.sort((a, b) => a - b);
  signalLatencies.sort((a, b) => a - b);
  for (const p of peers) p.close();
  process.stdout.write(
    `${JSON.stringify({
      target: TARGET,
      peers: peers.length,
      offered_per_s: PEERS * RATE,
      open_p50_ms: percentile(openLatencies, 50),
      open_p99_ms: percentile(openLatencies, 99),
      announces_per_s: announceLatencies.length / announceSeconds,
      announce_p50_ms: percentile(announceLatencies, 50),
      announce_p99_ms: percentile(announceLatencies, 99),
      signals_per_s: signalLatencies.length / signalSeconds,
      signal_p50_ms: percentile(signalLatencies, 50),
      signal_p99_ms: percentile(signalLatencies, 99),
      announces_total: peers.length + openLatencies.length + announceLatencies.length,
    })}\n`,
  );
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`tracker-load: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
