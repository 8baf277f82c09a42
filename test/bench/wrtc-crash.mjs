// Repro for native crashes in Node WebRTC while connections close (not part of npm test).
//
//   node --expose-gc --report-on-fatalerror test/bench/wrtc-crash.mjs [seconds] [impl]
//
// impl: `roamhq` (@roamhq/wrtc, the default) or `ndc` (node-datachannel/polyfill). Opens pairs
// of RTCPeerConnections with one data channel each, in one process, and tears them down in
// odd orders: during ICE gathering, while data is in flight, both ends in the same tick, the
// connection before its channel, dropped without close and collected. Exits 0 after
// `seconds`; a native crash shows as a signal (SIGSEGV, SIGABRT) or a fatal-error report.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const seconds = Number(process.argv[2] ?? 30);
const impl = process.argv[3] ?? process.env.RINGSWARM_WRTC ?? 'roamhq';
const { RTCPeerConnection } = impl === 'ndc' ? require('node-datachannel/polyfill') : require('@roamhq/wrtc');

/** Deterministic per seed, so a crashing sequence can be replayed. */
let seed = Number(process.env.SEED ?? Date.now() % 1_000_000);
const random = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const MODES = ['gathering', 'in-flight', 'both-at-once', 'pc-before-dc', 'drop-and-gc', 'remote-first'];
const counts = Object.fromEntries(MODES.map((m) => [m, 0]));

async function pair(mode) {
  const a = new RTCPeerConnection({ iceServers: [] });
  const b = new RTCPeerConnection({ iceServers: [] });
  a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate).catch(() => {});
  b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate).catch(() => {});
  const dc = a.createDataChannel('x', { ordered: true });
  dc.binaryType = 'arraybuffer';
  const opened = new Promise((r) => {
    dc.onopen = () => r(true);
    setTimeout(() => r(false), 5000).unref();
  });
  let remote = null;
  b.ondatachannel = (e) => {
    remote = e.channel;
    remote.onmessage = () => {};
  };
  const offer = await a.createOffer();
  await a.setLocalDescription(offer);
  if (mode === 'gathering') {
    // Close while ICE gathers, before the remote even saw the offer.
    a.close();
    b.close();
    return;
  }
  await b.setRemoteDescription(offer);
  const answer = await b.createAnswer();
  await b.setLocalDescription(answer);
  await a.setRemoteDescription(answer);
  if (!(await opened)) {
    timeouts++;
    a.close();
    b.close();
    return;
  }
  const chunk = new Uint8Array(16 * 1024);
  switch (mode) {
    case 'in-flight':
      for (let i = 0; i < 64; i++) dc.send(chunk);
      if (random() < 0.5) dc.close();
      a.close();
      await sleep(random() * 5);
      b.close();
      break;
    case 'both-at-once':
      for (let i = 0; i < 8; i++) dc.send(chunk);
      b.close();
      a.close();
      break;
    case 'pc-before-dc':
      dc.send(chunk);
      a.close();
      dc.close();
      remote?.close();
      b.close();
      break;
    case 'drop-and-gc':
      // No close at all: the objects go out of scope with data in flight.
      for (let i = 0; i < 16; i++) dc.send(chunk);
      break;
    case 'remote-first':
      for (let i = 0; i < 16; i++) dc.send(chunk);
      remote?.close();
      await sleep(random() * 10);
      b.close();
      dc.send(chunk);
      a.close();
      break;
  }
}

const deadline = Date.now() + seconds * 1000;
const startSeed = seed;
let made = 0;
let timeouts = 0;
while (Date.now() < deadline) {
  const batch = [];
  for (let i = 0; i < 4; i++) {
    const mode = MODES[Math.floor(random() * MODES.length)] ?? 'gathering';
    counts[mode]++;
    made++;
    batch.push(pair(mode).catch(() => {}));
  }
  await Promise.all(batch);
  if (random() < 0.3) globalThis.gc?.();
  await sleep(random() * 20);
}
globalThis.gc?.();
await sleep(500);
console.log(JSON.stringify({ impl, seed: startSeed, seconds, pairs: made, openTimeouts: timeouts, modes: counts }));
process.exit(0);
