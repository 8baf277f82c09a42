/**
 * Two machines for real: each Chromium runs inside its own network namespace of the NAT lab
 * (helpers/netns.ts), the tracker on the "public" segment. Playwright drives a browser over
 * a pipe, so an executablePath that runs Chromium under `ip netns exec` puts the browser in
 * the namespace while this test stays outside. Needs root; skipped (and says why) without.
 *
 *   across NATs: page A in LAN A, page B in LAN B, both behind MASQUERADE routers, the
 *                tracker's built-in STUN the only ICE server (no coturn): the pair is
 *                srflx/prflx <-> srflx/prflx, badge "direct across NAT"
 *   same LAN:    page A and page B on two machines of LAN A: host <-> host (mDNS names,
 *                resolved on the LAN, as Chromium hides host addresses), badge "same network"
 *
 * Both pages are plain HTTP on the tracker's public address, as on a second machine.
 * Screenshots of all four pages go to test/artifacts/.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { findChromium } from '../helpers/chromium.js';
import { fetchScript } from '../helpers/leak-check.js';
import {
  NatLab,
  netnsUnavailable,
  PEER_A_IP,
  PEER_A2_IP,
  PUBLIC_IP,
  ROUTER_A_IP,
  ROUTER_B_IP,
} from '../helpers/netns.js';
import { firstSaveLink, launchChromium, openPage, saveBytes, shareBytes } from '../helpers/pages.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { sha } from '../helpers/sha.js';

const FILE_BYTES = 2 * 1024 * 1024;
const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));

const unavailable = netnsUnavailable({ coturn: false });
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
      // The tracker's built-in STUN responder is the only ICE server: no coturn.
      server = await startServerProcess(
        ['--host', PUBLIC_IP, '--stun-port', '3478'],
        (command, args) => lab.spawn(lab.pub, command, args),
        { get: (url, headers) => lab.exec(lab.pub, process.execPath, ['-e', fetchScript(url, headers)]) },
      );
    });

    afterEach(async () => {
      for (const b of browsers.splice(0)) await b.close();
    });

    afterAll(async () => {
      for (const b of browsers.splice(0)) await b.close();
      try {
        await server?.stop();
      } finally {
        await lab?.destroy();
        if (dir) await rm(dir, { recursive: true, force: true });
      }
    });

    /** A Chromium living in `ns`, with one page on the tracker's public address. */
    async function pageIn(ns: string, name: string): Promise<Page> {
      // No flag makes the tracker's origin secure: like a second machine, the page is plain
      // HTTP on a non-localhost address and takes its fallbacks (hash-wasm, IndexedDB).
      const browser = await launchChromium([], lab.wrapper(ns, findChromium(), dir, `chromium-${name}`));
      browsers.push(browser);
      return openPage(browser, `page ${name}`);
    }

    /** Page A shares `data`, page B opens its link, saves it; returns what B saved and B's candidate pair. */
    async function shareAndDownload(a: Page, b: Page, name: string, data: Uint8Array) {
      await a.goto(server.url);
      const shareUrl = await shareBytes(a, name, data);
      // The link names the address page A used: the tracker's public one.
      expect(shareUrl.startsWith(`http://${PUBLIC_IP}:`)).toBe(true);

      const started = Date.now();
      await b.goto(shareUrl);
      const save = await firstSaveLink(b);
      const ms = Date.now() - started;
      const saved = (await saveBytes(b, save)).bytes;
      expect(await b.evaluate(() => window.isSecureContext)).toBe(false);
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

    /** Page B's badges: the transfer-wide one (#connection-badge) and its one peer row's. */
    async function expectBadge(b: Page, badge: string, label: string): Promise<void> {
      const overall = b.locator('#connection-badge');
      await expect.poll(() => overall.getAttribute('data-badge'), { timeout: 10_000 }).toBe(badge);
      expect(await overall.textContent()).toBe(label);
      const rows = b.locator('[data-peer] [data-badge]');
      expect(await rows.count()).toBe(1);
      expect(await rows.first().getAttribute('data-badge')).toBe(badge);
    }

    async function screenshots(scenario: string, a: Page, b: Page): Promise<void> {
      await a.screenshot({ path: join(ARTIFACTS, `nat-browser-${scenario}-a.png`), fullPage: true });
      await b.screenshot({ path: join(ARTIFACTS, `nat-browser-${scenario}-b.png`), fullPage: true });
    }

    it('across two MASQUERADE NATs with the built-in STUN only: srflx <-> srflx, direct across NAT', async () => {
      // The only ICE server the tracker offers a page in a LAN is its own STUN responder.
      const ice = await lab.fetchJson(lab.lanB, `${server.url}/api/ice`);
      expect(ice).toMatchObject({ iceServers: [{ urls: [`stun:${PUBLIC_IP}:3478`] }] });
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
      await expectBadge(b, 'direct-nat', 'direct across NAT');
      await screenshots('across-nat', a, b);
    }, 90_000);

    it('two machines on the same LAN: host <-> host, same network', async () => {
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
      await expectBadge(b, 'same-network', 'same network');
      await screenshots('same-lan', a, b);
    }, 90_000);
  },
);
