/**
 * NAT traversal for real: two CLI peers in private LANs, each behind its own NAT router
 * (iptables MASQUERADE in a network namespace), the tracker and coturn on a "public"
 * segment. See helpers/netns.ts for the map. Needs root; skipped (and says why) without.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONNECT_TIMEOUT_MS, ErrorCode, NO_ROUTE_MESSAGE } from '@ringswarm/shared';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CliEvent, CliProcess } from '../helpers/cli-process.js';
import { type Coturn, startCoturn } from '../helpers/coturn.js';
import { fetchScript, noteLink } from '../helpers/leak-check.js';
import { NatLab, netnsUnavailable, PUBLIC_IP, ROUTER_A_IP, ROUTER_B_IP } from '../helpers/netns.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { sha } from '../helpers/sha.js';

const MiB = 1024 * 1024;
const FILE_BYTES = 8 * MiB;

const unavailable = netnsUnavailable();
if (unavailable) console.warn(`NAT traversal tests skipped: ${unavailable}`);

interface Candidate {
  type: string;
  address: string;
  port: number;
}
interface Connection {
  relayed: boolean | null;
  local: Candidate | null;
  remote: Candidate | null;
}

function connectionsIn(done: CliEvent): Connection[] {
  expect(Array.isArray(done.connections)).toBe(true);
  return done.connections as Connection[];
}

const describeNat = describe.skipIf(unavailable !== null);

describeNat(`NAT traversal in network namespaces${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let dir: string;
  let file: Uint8Array;
  let filePath: string;
  let lab: NatLab | undefined;
  let server: ServerProcess | undefined;
  const procs: CliProcess[] = [];
  let runs = 0;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ringswarm-nat-'));
    file = new Uint8Array(randomBytes(FILE_BYTES));
    filePath = join(dir, 'payload.bin');
    await writeFile(filePath, file);
  });

  afterEach(async () => {
    for (const p of procs.splice(0)) await p.stop('SIGKILL');
    try {
      await server?.stop();
    } finally {
      server = undefined;
      await lab?.destroy();
      lab = undefined;
    }
  });

  afterAll(async () => {
    await lab?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** The lab, and the tracker on the public segment, with coturn as STUN and TURN server unless `noIce`. */
  async function setUp(options: { randomFullyB?: boolean; noIce?: boolean }) {
    const l = NatLab.create({ randomFullyB: options.randomFullyB === true });
    lab = l;
    let iceArgs: string[] = [];
    let turn: Coturn | undefined;
    if (!options.noIce) {
      turn = await startCoturn(l, l.pub, PUBLIC_IP, dir);
      iceArgs = ['--stun-url', turn.stunUrl, '--turn-url', turn.turnUrl, '--turn-secret', turn.secret];
    }
    server = await startServerProcess(
      ['--host', PUBLIC_IP, ...iceArgs],
      (command, args) => l.spawn(l.pub, command, args),
      { get: (url, headers) => l.exec(l.pub, process.execPath, ['-e', fetchScript(url, headers)]) },
    );
    return { lab: l, server, turn };
  }

  function cliIn(ns: string, args: string[]): CliProcess {
    const l = lab;
    if (!l) throw new Error('no lab');
    const p = new CliProcess(args, (command, a) => l.spawn(ns, command, a));
    procs.push(p);
    return p;
  }

  /** Seeds from LAN A, fetches into LAN B; returns both processes and the getter's `done`. */
  async function transfer(l: NatLab, trackerUrl: string) {
    const seeder = cliIn(l.lanA, ['seed', filePath, '--tracker', trackerUrl, '--json']);
    const link = noteLink(String((await seeder.next((e) => e.event === 'seeding', 30_000, 'the share link')).link));
    const out = join(dir, `out-${++runs}`);
    const getter = cliIn(l.lanB, ['get', link, '--out', out, '--json', '--no-seed']);
    const done = await getter
      .next((e) => e.event === 'done', 60_000, 'the download')
      .catch((err: Error) => {
        const tail = (p: CliProcess) =>
          JSON.stringify(p.events.filter((e) => e.event !== 'progress' && e.event !== 'ring').slice(-12));
        throw new Error(`${err.message}\ngetter events: ${tail(getter)}\nseeder events: ${tail(seeder)}`);
      });
    expect(await getter.exited).toBe(0);
    expect(sha(await readFile(join(out, 'payload.bin')))).toBe(sha(file));
    const seconds = Number(done.seconds);
    const connections = connectionsIn(done);
    console.info(
      `NAT transfer: ${FILE_BYTES / MiB} MiB in ${seconds.toFixed(2)} s (${(FILE_BYTES / MiB / seconds).toFixed(1)} MiB/s); ` +
        `getter's pair ${JSON.stringify(connections)}`,
    );
    return { seeder, getter, done, connections };
  }

  it('crosses two cone-like NATs directly: srflx <-> srflx, no relay, no file byte through the server', async () => {
    const { lab: l, server: s } = await setUp({});
    const { seeder, getter, connections } = await transfer(l, s.url);

    // The CLI took its ICE servers from the tracker: STUN over HTTP, then STUN and TURN over
    // its socket (the only place TURN credentials come from).
    const ice = await getter.next((e) => e.event === 'ice', 1_000, 'the ICE servers');
    expect(ice.source).toBe('tracker');
    expect(ice.urls).toEqual([`stun:${PUBLIC_IP}:3478`]);
    const viaSocket = await getter.next((e) => e.event === 'ice' && e.source === 'socket', 1_000, 'TURN');
    expect(viaSocket.urls).toEqual([`stun:${PUBLIC_IP}:3478`, `turn:${PUBLIC_IP}:3478?transport=udp`]);

    expect(connections).toHaveLength(1);
    const [c] = connections;
    expect(c?.relayed).toBe(false);
    expect(c?.local).toMatchObject({ type: 'srflx', address: ROUTER_B_IP });
    expect(c?.remote).toMatchObject({ type: 'srflx', address: ROUTER_A_IP });
    // The seeder tells the same story from its side.
    const seen = await seeder.next((e) => e.event === 'connection', 5_000, "the seeder's connection report");
    expect(seen.relayed).toBe(false);
    expect(seen.local).toMatchObject({ address: ROUTER_A_IP });

    // The server carried signaling only: all its socket traffic is a sliver of the file.
    const stats = (await l.fetchJson(l.pub, `${s.url}/api/stats`)) as {
      traffic: { transportIn: number; transportOut: number };
    };
    const serverBytes = stats.traffic.transportIn + stats.traffic.transportOut;
    console.info(`server socket bytes: ${serverBytes} for a ${FILE_BYTES}-byte file`);
    expect(serverBytes).toBeGreaterThan(0);
    expect(serverBytes).toBeLessThan(FILE_BYTES / 100);
  }, 150_000);

  it('falls back to TURN when one NAT is symmetric (MASQUERADE --random-fully), with credentials from the socket', async () => {
    const { lab: l, server: s, turn } = await setUp({ randomFullyB: true });
    const startedS = Math.floor(Date.now() / 1000);
    const { seeder, getter, connections } = await transfer(l, s.url);
    expect(connections).toHaveLength(1);
    const [c] = connections;
    expect(c?.relayed).toBe(true);
    expect([c?.local?.type, c?.remote?.type]).toContain('relay');

    // Plain HTTP gave STUN only: the TURN credential the relay used came over the socket.
    expect(getter.events.filter((e) => e.event === 'ice').map((e) => e.source)).toEqual(['tracker', 'socket']);
    expect(await l.fetchJson(l.lanB, `${s.url}/api/ice`)).toEqual({
      iceServers: [{ urls: [`stun:${PUBLIC_IP}:3478`] }],
      ttl: 0,
    });
    // coturn accepted an allocation for the getter's proven peer ID, valid 10 minutes.
    const seen = await seeder.next((e) => e.event === 'connection', 5_000, "the seeder's connection report");
    const getterId = String(seen.peerId);
    expect(getterId).toMatch(/^[0-9a-f]{40}$/);
    const users = [...(turn?.log() ?? '').matchAll(/user <(\d+):([0-9a-f]{40})>[^\n]*ALLOCATE processed, success/g)];
    const mine = users.filter((m) => m[2] === getterId);
    expect(mine.length, `coturn log:\n${turn?.log().slice(-4_000)}`).toBeGreaterThan(0);
    const expiry = Number(mine[0]?.[1]);
    expect(expiry - startedS).toBeGreaterThanOrEqual(600);
    expect(expiry - startedS).toBeLessThan(600 + 120);
  }, 150_000);

  it('without STUN/TURN, two NATs fail fast with ERR_NO_ROUTE and a clear message', async () => {
    const { lab: l, server: s } = await setUp({ noIce: true });
    const seeder = cliIn(l.lanA, ['seed', filePath, '--tracker', s.url, '--json']);
    const link = noteLink(String((await seeder.next((e) => e.event === 'seeding', 30_000, 'the share link')).link));
    const started = Date.now();
    const getter = cliIn(l.lanB, ['get', link, '--out', join(dir, 'unreachable'), '--json', '--no-seed']);
    const ice = await getter.next((e) => e.event === 'ice', 10_000, 'the ICE servers');
    expect(ice.urls).toEqual([]);
    const error = await getter.next((e) => e.event === 'error', CONNECT_TIMEOUT_MS + 20_000, 'the no-route error');
    const seconds = (Date.now() - started) / 1000;
    console.info(`no route reported after ${seconds.toFixed(1)} s`);
    expect(error.code).toBe(ErrorCode.NO_ROUTE);
    expect(error.message).toBe(NO_ROUTE_MESSAGE);
    expect(await getter.exited).toBe(1);
    expect(getter.stderr).toContain('no route between peers; configure STUN/TURN');
    // The seeder is still up: a failed peer connection is a warning for it, not a crash.
    expect(seeder.child.exitCode).toBe(null);
  }, 90_000);
});
