/**
 * Two machines for real: each Chromium runs inside its own network namespace of the NAT lab
 * (helpers/netns.ts), the tracker on the "public" segment. Playwright drives a browser over
 * a pipe, so an executablePath that runs Chromium under `ip netns exec` puts the browser in
 * the namespace while this test stays outside. Needs root; skipped (and says why) without.
 *
 *   across NATs: page A in LAN A, page B in LAN B, both behind MASQUERADE routers,
 *                STUN only: the pair is srflx/prflx <-> srflx/prflx, no relay, no host
 *   same LAN:    page A and page B on two machines of LAN A: host <-> host (mDNS names,
 *                resolved on the LAN, as Chromium hides host addresses)
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS, findChromium } from '../helpers/chromium.js';
import { startCoturn } from '../helpers/coturn.js';
import {
  NatLab,
  netnsUnavailable,
  PEER_A_IP,
  PEER_A2_IP,
  PUBLIC_IP,
  ROUTER_A_IP,
  ROUTER_B_IP,
} from '../helpers/netns.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

const FILE_BYTES = 2 * 1024 * 1024;
const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

const unavailable = netnsUnavailable();
if (unavailable) console.warn(`NAT browser tests skipped: ${unavailable}`);

interface Side {
  type: string;
  address: string;
  port: number;
}

/** The part of the page's debug handle (`window.ringswarm`) this test reads. */
interface DownloadHandle {
  client: { connectionInfo(peerId: string): Promise<unknown> };
  download?: { swarm: { peerIds: string[] } };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
function sideOf(v: unknown): Side | null {
  if (!isRecord(v) || typeof v.type !== 'string' || typeof v.address !== 'string' || typeof v.port !== 'number') {
    return null;
  }
  return { type: v.type, address: v.address, port: v.port };
}

describe.skipIf(unavailable !== null)(
  `two Chromiums in network namespaces${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    let dir: string;
    let lab: NatLab;
    let server: ServerProcess;
    const browsers: Browser[] = [];

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'ringswarm-nat-browser-'));
      await mkdir(ARTIFACTS, { recursive: true });
      lab = NatLab.create({ secondPeerA: true });
      const stun = await startCoturn(lab, lab.pub, PUBLIC_IP, dir);
      server = await startServerProcess(['--host', PUBLIC_IP, '--stun-url', stun.stunUrl], (command, args) =>
        lab.spawn(lab.pub, command, args),
      );
    });

    afterEach(async () => {
      for (const b of browsers.splice(0)) await b.close();
    });

    afterAll(async () => {
      for (const b of browsers.splice(0)) await b.close();
      await server?.stop();
      await lab?.destroy();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    /** A Chromium living in `ns`, with one page on the tracker's public address. */
    async function pageIn(ns: string, name: string): Promise<Page> {
      const executablePath = lab.wrapper(ns, findChromium(), dir, `chromium-${name}`);
      const browser = await chromium.launch({
        executablePath,
        // The page is served on plain HTTP from a non-localhost address; WebCrypto and OPFS
        // need a secure context, which this flag grants to the tracker's origin only.
        args: [...CHROMIUM_ARGS, `--unsafely-treat-insecure-origin-as-secure=${server.url}`],
        headless: true,
      });
      browsers.push(browser);
      const page = await (await browser.newContext({ acceptDownloads: true })).newPage();
      page.on('pageerror', (err) => console.error(`page ${name} error:`, err));
      return page;
    }

    /** Page A shares `data`, page B opens its link, saves it; returns what B saved and B's candidate pair. */
    async function shareAndDownload(a: Page, b: Page, name: string, data: Uint8Array) {
      await a.goto(server.url);
      await a.setInputFiles('#file-input', { name, mimeType: 'application/octet-stream', buffer: Buffer.from(data) });
      const link = a.locator('#share-link');
      await expect.poll(() => link.inputValue(), { timeout: 30_000 }).toMatch(/#[0-9a-f]{64}$/);
      const shareUrl = await link.inputValue();
      // The link names the address page A used: the tracker's public one.
      expect(shareUrl.startsWith(`http://${PUBLIC_IP}:`)).toBe(true);

      const started = Date.now();
      await b.goto(shareUrl);
      const save = b.locator('#save-links a').first();
      await save.waitFor({ state: 'visible', timeout: 45_000 });
      const ms = Date.now() - started;
      const [download] = await Promise.all([b.waitForEvent('download'), save.click()]);
      const saved = await readFile((await download.path())!);
      // How B's bytes came: the candidate pair its RTCPeerConnection selected (getStats()).
      const reported = await b.evaluate(async () => {
        const handle = (window as unknown as { ringswarm?: DownloadHandle }).ringswarm;
        const peers = handle?.download?.swarm.peerIds ?? [];
        return { peers: peers.length, pair: peers[0] && handle ? await handle.client.connectionInfo(peers[0]) : null };
      });
      console.info(`${name}: ${data.length} bytes in ${ms} ms; page B's pair ${JSON.stringify(reported)}`);
      expect(reported.peers).toBe(1);
      const local = isRecord(reported.pair) ? sideOf(reported.pair.local) : null;
      const remote = isRecord(reported.pair) ? sideOf(reported.pair.remote) : null;
      return { saved, pair: local && remote ? { local, remote } : null };
    }

    async function screenshots(scenario: string, a: Page, b: Page): Promise<void> {
      await a.screenshot({ path: join(ARTIFACTS, `nat-browser-${scenario}-a.png`), fullPage: true });
      await b.screenshot({ path: join(ARTIFACTS, `nat-browser-${scenario}-b.png`), fullPage: true });
    }

    it('across two MASQUERADE NATs with STUN only: srflx <-> srflx, bytes identical, direct', async () => {
      const [a, b] = await Promise.all([pageIn(lab.lanA, 'a'), pageIn(lab.lanB, 'b')]);
      const data = new Uint8Array(randomBytes(FILE_BYTES));
      const { saved, pair } = await shareAndDownload(a, b, 'across-nat.bin', data);
      expect(sha(saved)).toBe(sha(data));
      expect(pair).not.toBeNull();
      // Both ends are NAT mappings: B's on router B, A's on router A. No host, no relay.
      expect(['srflx', 'prflx']).toContain(pair?.local.type);
      expect(['srflx', 'prflx']).toContain(pair?.remote.type);
      expect(pair?.local.address).toBe(ROUTER_B_IP);
      expect(pair?.remote.address).toBe(ROUTER_A_IP);
      await screenshots('across-nat', a, b);
    }, 90_000);

    it('two machines on the same LAN: host <-> host, bytes identical', async () => {
      const [a, b] = await Promise.all([pageIn(lab.lanA, 'a'), pageIn(lab.lanA2, 'a2')]);
      const data = new Uint8Array(randomBytes(FILE_BYTES));
      const { saved, pair } = await shareAndDownload(a, b, 'same-lan.bin', data);
      expect(sha(saved)).toBe(sha(data));
      expect(pair).not.toBeNull();
      expect(pair?.local.type).toBe('host');
      expect(pair?.remote.type).toBe('host');
      // Chromium hides host addresses behind mDNS names and reports them as ''; where it
      // does not, they must be the two LAN machines.
      expect(['', PEER_A2_IP]).toContain(pair?.local.address);
      expect(['', PEER_A_IP]).toContain(pair?.remote.address);
      await screenshots('same-lan', a, b);
    }, 90_000);
  },
);
