/**
 * The leak check itself must be able to fail: against a fake stats server that shows a share's
 * infohash (whole, upper case, or just 16 of its hex digits), it throws; against one that shows
 * nothing of it, it passes; against a server that does not answer, it throws.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { expectNoInfoHashLeak, findLeak, notedShares, noteShare } from '../helpers/leak-check.js';
import { seedable } from '../helpers/seed.js';
import { startServerProcess } from '../helpers/server-process.js';
import { randomInfoHash } from '../helpers/tracker-socket.js';

/** Serves `stats` at /api/stats (`admin` instead with the bearer token) and `metrics` at /metrics. */
async function fakeServer(pages: {
  stats: string;
  metrics: string;
  admin?: string;
}): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const admin = req.headers.authorization === 'Bearer secret-token';
    if (req.url === '/api/stats') res.end(admin && pages.admin !== undefined ? pages.admin : pages.stats);
    else if (req.url === '/metrics') res.end(pages.metrics);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('leak check', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  });
  const serve = async (pages: { stats: string; metrics: string; admin?: string }) => {
    const { url, server } = await fakeServer(pages);
    servers.push(server);
    return url;
  };

  const clean = JSON.stringify({ swarms: 1, peers: 2, perSwarm: { '0123456789ab': { complete: 1 } } });

  it('finds a whole infohash, an upper-case one, and any 16 of its hex digits in a row', () => {
    const hash = randomInfoHash();
    expect(findLeak(`{"swarms":{"${hash}":{}}}`, [hash])).toMatchObject({ infoHash: hash, at: 12 });
    expect(findLeak(hash.toUpperCase(), [hash])).not.toBeNull();
    expect(findLeak(`label="${hash.slice(37, 53)}"`, [hash])).toMatchObject({ at: 7 });
    expect(findLeak(`x${hash.slice(20, 35)}x`, [hash])).toBeNull();
    expect(findLeak(clean, [hash])).toBeNull();
  });

  it('fails on a stats page, a metrics page or an admin stats page that shows a noted share', async () => {
    const hash = randomInfoHash();
    noteShare(hash);
    expect(notedShares()).toContain(hash);
    const inStats = await serve({ stats: JSON.stringify({ swarms: { [hash]: { complete: 1 } } }), metrics: '' });
    await expect(expectNoInfoHashLeak(inStats)).rejects.toThrow(/\/api\/stats leaks infohash/);

    const inMetrics = await serve({
      stats: clean,
      metrics: `ringswarm_swarm{key="${hash.slice(10, 26).toUpperCase()}"} 1\n`,
    });
    await expect(expectNoInfoHashLeak(inMetrics)).rejects.toThrow(/\/metrics leaks infohash/);

    const inAdmin = await serve({ stats: clean, metrics: '', admin: JSON.stringify({ perSwarm: { [hash]: {} } }) });
    await expect(expectNoInfoHashLeak(inAdmin)).resolves.toBeUndefined();
    await expect(expectNoInfoHashLeak(inAdmin, { adminToken: 'secret-token' })).rejects.toThrow(
      /\/api\/stats \(with the admin token\) leaks/,
    );
  });

  it('notes the shares that seedable() makes', async () => {
    const seed = await seedable('a.bin', new Uint8Array(1000).fill(7));
    expect(notedShares()).toContain(seed.infoHash);
    const url = await serve({ stats: clean, metrics: `# ${seed.infoHash.slice(0, 16)}` });
    await expect(expectNoInfoHashLeak(url)).rejects.toThrow(seed.infoHash);
  });

  it('passes a server that shows no noted share, and fails one that does not answer', async () => {
    noteShare(randomInfoHash());
    const url = await serve({ stats: clean, metrics: 'ringswarm_swarms 1\n' });
    await expect(expectNoInfoHashLeak(url, { adminToken: 'secret-token' })).resolves.toBeUndefined();
    const gone = servers.pop();
    gone?.closeAllConnections();
    await new Promise((resolve) => gone?.close(resolve));
    await expect(expectNoInfoHashLeak(url)).rejects.toThrow();
  });

  it('runs when a server process stops: a leak fails stop(), and the server is stopped all the same', async () => {
    const hash = randomInfoHash();
    noteShare(hash);
    const seen: string[] = [];
    // The server is real; what the check reads of it is doctored to show the share.
    const proc = await startServerProcess([], undefined, {
      get: async (url) => {
        seen.push(new URL(url).pathname);
        const body = await (await fetch(url)).text();
        return url.endsWith('/metrics') ? `${body}\n# ${hash.slice(30, 46)}` : body;
      },
    });
    await expect(proc.stop()).rejects.toThrow(/\/metrics leaks infohash/);
    expect(seen).toEqual(['/api/stats', '/metrics']);
    expect(proc.child.exitCode ?? proc.child.signalCode).not.toBeNull();

    // The same server, honestly read, passes.
    const honest = await startServerProcess();
    expect(await honest.stop()).toBe(0);
  });
});
