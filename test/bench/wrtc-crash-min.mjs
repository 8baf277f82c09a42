// Minimal repro of the native crash in @roamhq/wrtc (not part of npm test):
//
//   node test/bench/wrtc-crash-min.mjs [pairs=30] [impl=roamhq|ndc]
//
// One pair of RTCPeerConnections at a time, one data channel: once it is open the remote end
// closes its connection, and a millisecond later the local end sends on its channel, which
// still reads `readyState === 'open'`. In @roamhq/wrtc 0.10 that send dereferences the freed
// native channel: SIGSEGV in node_webrtc::RTCDataChannel::Send. Checking readyState first
// does not prevent it. Exits 0 when every pair survived.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const pairs = Number(process.argv[2] ?? 30);
const impl = process.argv[3] ?? 'roamhq';
const { RTCPeerConnection } = impl === 'ndc' ? require('node-datachannel/polyfill') : require('@roamhq/wrtc');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let threw = 0;
let neverOpened = 0;
for (let i = 0; i < pairs; i++) {
  const a = new RTCPeerConnection({ iceServers: [] });
  const b = new RTCPeerConnection({ iceServers: [] });
  a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate).catch(() => {});
  b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate).catch(() => {});
  const dc = a.createDataChannel('x');
  const open = new Promise((r) => {
    dc.onopen = () => r(true);
    setTimeout(() => r(false), 10_000).unref();
  });
  const offer = await a.createOffer();
  await a.setLocalDescription(offer);
  await b.setRemoteDescription(offer);
  const answer = await b.createAnswer();
  await b.setLocalDescription(answer);
  await a.setRemoteDescription(answer);
  if (!(await open)) {
    neverOpened++; // not the crash; counted so a stall is not mistaken for it
    a.close();
    b.close();
    continue;
  }
  b.close();
  await sleep(1);
  try {
    if (dc.readyState === 'open') dc.send(new Uint8Array(100));
  } catch {
    threw++; // what a correct implementation does on a closed channel
  }
  a.close();
}
console.log(JSON.stringify({ impl, pairs, survived: true, sendsThatThrew: threw, neverOpened }));
process.exit(0);
