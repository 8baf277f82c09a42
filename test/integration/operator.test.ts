/**
 * The operator's controls, against a real server on port 0 and real socket.io clients:
 * aggregate-only /api/stats (per-swarm figures only with the admin token), the deny list
 * (refusals, scrape zeros, reloads, bad lines, a missing file), and POST /api/report (accepted,
 * counted, validated, rate-limited).
 */
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { discoveryKeyOf, ErrorCode, MAX_REPORT_BODY_BYTES } from '@ringswarm/shared';
import {
  ConfigError,
  DenyListError,
  loadConfig,
  parseDenyList,
  type RunningServer,
  type ServerConfig,
  type StartOptions,
  startServer,
} from '@ringswarm/signaling-server';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeChecked, noteShare } from '../helpers/leak-check.js';
import { RedisProcess } from '../helpers/redis-server.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { announce, emit, randomInfoHash, SocketPool } from '../helpers/tracker-socket.js';

const ADMIN = 'operator-token-0123456789';
const BLOCKED_MESSAGE = 'the operator of this server has blocked this share';

/** A share: its infohash (noted for the leak check) and the discovery key the tracker sees. */
function share() {
  const infoHash = randomInfoHash();
  noteShare(infoHash);
  return { infoHash, key: discoveryKeyOf(infoHash), link: `http://example.org:8080/#${infoHash}` };
}

/** A pino logger whose lines the test can read. */
function capturedLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

/** One HTTP request with full control of method, headers, body and the local address. */
function send(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; from?: string } = {},
): Promise<{ status: number; body: string; json: () => unknown }> {
  const { hostname, port, pathname } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        hostname,
        port,
        path: pathname,
        method: options.method ?? 'GET',
        headers: options.headers ?? {},
        ...(options.from ? { localAddress: options.from } : {}),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, json: () => JSON.parse(body) }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const report = (url: string, payload: unknown, from?: string) =>
  send(`${url}/api/report`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof payload === 'string' ? payload : JSON.stringify(payload),
    ...(from ? { from } : {}),
  });

/** The value of an unlabelled (or exactly labelled) sample in a Prometheus text page. */
function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`no metric ${name}`);
  return Number(line.slice(name.length + 1));
}

const metrics = async (url: string) => (await send(`${url}/metrics`)).body;

describe('operator controls', () => {
  let server: RunningServer | undefined;
  let pool: SocketPool | undefined;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ringswarm-operator-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    pool?.closeAll();
    pool = undefined;
    if (server) await closeChecked(server, { adminToken: ADMIN });
    server = undefined;
  });

  async function start(config: Partial<ServerConfig> = {}, options: StartOptions = {}) {
    server = await startServer(
      { port: 0, host: '127.0.0.1', adminToken: ADMIN, ...config },
      { logger: pino({ level: 'silent' }), ...options },
    );
    pool = new SocketPool(server.url, options.now);
    return { s: server, p: pool };
  }

  describe('/api/stats', () => {
    it('shows everyone aggregate counts only, with `swarms` a number and no key anywhere', async () => {
      const { s, p } = await start();
      const [one, two] = [share(), share()];
      const a = await p.peer();
      const b = await p.peer();
      expect(await announce(a.socket, one.key, 0)).toMatchObject({ ok: true });
      expect(await announce(b.socket, one.key, null)).toMatchObject({ ok: true });
      expect(await announce(b.socket, two.key, 0)).toMatchObject({ ok: true });

      const res = await send(`${s.url}/api/stats`);
      expect(res.status).toBe(200);
      const stats = res.json() as Record<string, unknown>;
      expect(Object.keys(stats).sort()).toEqual(
        [
          'version',
          'mode',
          'connections',
          'peers',
          'seeders',
          'leechers',
          'ringMembers',
          'swarms',
          'instance',
          'cluster',
          'traffic',
        ].sort(),
      );
      expect(stats).toMatchObject({ swarms: 2, peers: 2, seeders: 2, leechers: 1, connections: 2 });
      for (const { infoHash, key } of [one, two]) {
        expect(res.body).not.toContain(key.slice(0, 12));
        expect(res.body).not.toContain(infoHash.slice(0, 12));
      }
      // Nothing in /metrics names a swarm either: no label carries a key or a prefix of one.
      const text = await metrics(s.url);
      expect(metric(text, 'ringswarm_swarms')).toBe(2);
      for (const { key } of [one, two]) expect(text).not.toContain(key.slice(0, 12));
    });

    it('adds per-swarm figures under a 12-hex prefix of the discovery key for the admin token', async () => {
      const { s, p } = await start();
      const one = share();
      const a = await p.peer();
      const b = await p.peer();
      await announce(a.socket, one.key, 0);
      await announce(b.socket, one.key, 100);
      await announce(b.socket, one.key, 0, 'completed');

      const res = await send(`${s.url}/api/stats`, { headers: { authorization: `Bearer ${ADMIN}` } });
      expect(res.status).toBe(200);
      const stats = res.json() as { swarms: unknown; perSwarm: Record<string, unknown> };
      expect(stats.swarms).toBe(1);
      expect(stats.perSwarm).toEqual({ [one.key.slice(0, 12)]: { complete: 2, incomplete: 0, downloaded: 1 } });
      // Only the prefix: the whole discovery key is not in the body.
      expect(res.body).not.toContain(one.key.slice(0, 13));
    });

    it('answers a wrong, malformed or unexpected token with 401 ERR_NOT_ALLOWED', async () => {
      const { s } = await start();
      for (const authorization of [`Bearer ${ADMIN}x`, `Bearer ${ADMIN.slice(1)}`, ADMIN, 'Bearer', 'Basic abc']) {
        const res = await send(`${s.url}/api/stats`, { headers: { authorization } });
        expect(res.status, authorization).toBe(401);
        expect(res.json()).toMatchObject({ ok: false, code: ErrorCode.NOT_ALLOWED });
        expect(res.body).not.toContain('perSwarm');
      }
      await s.close();
      // A server without a token shows per-swarm figures to no one.
      await start({ adminToken: undefined });
      const res = await send(`${server?.url}/api/stats`, { headers: { authorization: `Bearer ${ADMIN}` } });
      expect(res.status).toBe(401);
      expect((await send(`${server?.url}/api/stats`)).status).toBe(200);
    });
  });

  describe('deny list', () => {
    it('reads links and discovery keys, skips blank and # lines, and names the line of a bad one', () => {
      const [one, two] = [share(), share()];
      const text = [
        '# blocked after reports',
        '',
        one.link,
        `  ${two.key.toUpperCase()}  `,
        `#${randomInfoHash()}`,
        'not a share',
        `http://host/#${'a'.repeat(63)}`,
      ].join('\n');
      const parsed = parseDenyList(text);
      expect([...parsed.keys].sort()).toEqual([one.key, two.key].sort());
      expect(parsed.warnings.map((w) => w.line)).toEqual([6, 7]);
    });

    it('refuses a blocked share with ERR_BLOCKED, zeros its scrape, and serves every other share', async () => {
      const [blockedByLink, blockedByKey, open] = [share(), share(), share()];
      const file = join(dir, 'deny-1.txt');
      await writeFile(file, `${blockedByLink.link}\n# comment\n\n${blockedByKey.key}\nbogus line\n`);
      const { logger, lines } = capturedLogger();
      const { s, p } = await start({ denyList: file }, { logger });
      expect(lines).toContainEqual(expect.objectContaining({ level: 40, line: 5 }));
      expect(lines).toContainEqual(expect.objectContaining({ msg: 'deny list loaded', entries: 2 }));

      const a = await p.peer();
      const b = await p.peer();
      for (const { key } of [blockedByLink, blockedByKey]) {
        expect(await announce(a.socket, key, 0)).toEqual({
          ok: false,
          code: ErrorCode.BLOCKED,
          message: BLOCKED_MESSAGE,
        });
        expect(await s.registry.counts(key)).toEqual({ complete: 0, incomplete: 0, downloaded: 0 });
      }
      expect(await announce(a.socket, open.key, 0)).toMatchObject({ ok: true, complete: 1 });
      expect(await announce(b.socket, open.key, null)).toMatchObject({ ok: true, peers: [a.id] });
      expect(await emit(b.socket, 'scrape', { discoveryKeys: [open.key, blockedByKey.key] })).toEqual({
        ok: true,
        files: {
          [open.key]: { complete: 1, incomplete: 1, downloaded: 0 },
          [blockedByKey.key]: { complete: 0, incomplete: 0, downloaded: 0 },
        },
      });
      const text = await metrics(s.url);
      expect(metric(text, 'ringswarm_blocked_announces_total')).toBe(2);
      expect(metric(text, 'ringswarm_blocked_shares')).toBe(2);
    });

    it('on reload empties a blocked live swarm: counts and scrape show zeros, its members are refused', async () => {
      const [old, live] = [share(), share()];
      const file = join(dir, 'deny-2.txt');
      await writeFile(file, `${old.key}\n`);
      const { s, p } = await start({ denyList: file });
      const a = await p.peer();
      const b = await p.peer();
      const other = share();
      await announce(a.socket, live.key, 0);
      await announce(b.socket, live.key, null);
      await announce(b.socket, other.key, 0);
      expect(await emit(a.socket, 'signal', { to: b.id, data: { type: 'offer' } })).toEqual({ ok: true });

      await writeFile(file, `${old.key}\n${live.link}\n`);
      expect(await s.reloadDenyList()).toBe(2);
      expect(await s.registry.counts(live.key)).toEqual({ complete: 0, incomplete: 0, downloaded: 0 });
      expect(await s.registry.counts(other.key)).toEqual({ complete: 1, incomplete: 0, downloaded: 0 });
      expect((await s.registry.totals()).swarms).toBe(1);
      expect(await emit(a.socket, 'scrape', { discoveryKeys: [live.key] })).toEqual({
        ok: true,
        files: { [live.key]: { complete: 0, incomplete: 0, downloaded: 0 } },
      });
      // They no longer share a swarm, so the tracker no longer relays between them.
      expect(await emit(a.socket, 'signal', { to: b.id, data: { type: 'offer' } })).toMatchObject({
        ok: false,
        code: ErrorCode.NOT_ALLOWED,
      });
      expect(await announce(a.socket, live.key, 0, 'update')).toMatchObject({ ok: false, code: ErrorCode.BLOCKED });
      expect(await announce(b.socket, live.key, null, 'update')).toMatchObject({ ok: false, code: ErrorCode.BLOCKED });
      expect(await s.registry.counts(live.key)).toEqual({ complete: 0, incomplete: 0, downloaded: 0 });
      // A peer that says it stops is let go quietly.
      expect(await announce(b.socket, live.key, null, 'stopped')).toMatchObject({ ok: true, peers: [] });

      // A reload that cannot read the file keeps the list in force.
      await unlink(file);
      await expect(s.reloadDenyList()).rejects.toBeInstanceOf(DenyListError);
      expect(await announce(a.socket, old.key, 0)).toMatchObject({ ok: false, code: ErrorCode.BLOCKED });
      expect(await announce(a.socket, live.key, 0)).toMatchObject({ ok: false, code: ErrorCode.BLOCKED });
    });

    it('blocks and empties swarms the same way with the registry in Redis', async () => {
      const redis = new RedisProcess();
      await redis.start();
      try {
        const [blocked, open] = [share(), share()];
        const file = join(dir, 'deny-redis.txt');
        await writeFile(file, '# nothing blocked yet\n');
        const { s, p } = await start({ denyList: file, redisUrl: redis.url });
        const a = await p.peer();
        const b = await p.peer();
        for (const peer of [a, b]) {
          expect(await announce(peer.socket, blocked.key, 0)).toMatchObject({ ok: true });
          expect(await announce(peer.socket, open.key, null)).toMatchObject({ ok: true });
        }
        await writeFile(file, `${blocked.link}\n`);
        expect(await s.reloadDenyList()).toBe(1);
        expect(await s.registry.counts(blocked.key)).toEqual({ complete: 0, incomplete: 0, downloaded: 0 });
        expect(await s.registry.counts(open.key)).toEqual({ complete: 0, incomplete: 2, downloaded: 0 });
        expect(await announce(a.socket, blocked.key, 0, 'update')).toEqual({
          ok: false,
          code: ErrorCode.BLOCKED,
          message: BLOCKED_MESSAGE,
        });
        const stats = (await send(`${s.url}/api/stats`, { headers: { authorization: `Bearer ${ADMIN}` } })).json();
        expect(stats).toMatchObject({
          mode: 'redis',
          swarms: 1,
          perSwarm: { [open.key.slice(0, 12)]: { incomplete: 2 } },
        });
        p.closeAll();
        await closeChecked(s, { adminToken: ADMIN });
        server = undefined;
      } finally {
        await redis.stop();
      }
    });

    it('will not start on a deny list that is not there', async () => {
      const missing = join(dir, 'no-such-list.txt');
      await expect(
        startServer({ port: 0, host: '127.0.0.1', denyList: missing }, { logger: pino({ level: 'silent' }) }),
      ).rejects.toThrow(/cannot read the deny list .*no-such-list\.txt: no such file/);
    });
  });

  describe('POST /api/report', () => {
    it('accepts a report with 202, logs the key prefix and the reason, and counts it', async () => {
      const { logger, lines } = capturedLogger();
      const { s } = await start({}, { logger });
      const one = share();
      const res = await report(s.url, { discoveryKey: one.key, reason: 'malware in the zip' });
      expect(res.status).toBe(202);
      expect(res.json()).toEqual({ ok: true });
      expect(lines).toContainEqual(
        expect.objectContaining({ msg: 'share reported', share: one.key.slice(0, 12), reason: 'malware in the zip' }),
      );
      const text = await metrics(s.url);
      expect(metric(text, 'ringswarm_reports_total')).toBe(1);
      expect(metric(text, 'ringswarm_reports_refused_total{reason="rate"}')).toBe(0);
    });

    it('refuses bad bodies with 400 ERR_INVALID_PAYLOAD, a big one with 413, and other methods with 405', async () => {
      const { s } = await start({}, { reportLimits: { perAddressPerMinute: 100 } });
      const key = share().key;
      const bad: unknown[] = [
        'not json',
        '',
        null,
        [],
        {},
        { discoveryKey: key },
        { reason: 'spam' },
        { discoveryKey: key, reason: '' },
        { discoveryKey: key, reason: '   ' },
        { discoveryKey: key, reason: 'x'.repeat(501) },
        { discoveryKey: key.toUpperCase(), reason: 'spam' },
        { discoveryKey: key.slice(1), reason: 'spam' },
        { discoveryKey: key, reason: 42 },
        { discoveryKey: key, reason: 'spam', extra: 1 },
      ];
      for (const payload of bad) {
        const res = await report(s.url, payload === null ? 'null' : payload);
        expect(res.status, JSON.stringify(payload)).toBe(400);
        expect(res.json()).toMatchObject({ ok: false, code: ErrorCode.INVALID_PAYLOAD, message: expect.any(String) });
      }
      expect((await report(s.url, { discoveryKey: key, reason: 'x'.repeat(500) })).status).toBe(202);

      const big = await report(s.url, { discoveryKey: key, reason: 'x'.repeat(MAX_REPORT_BODY_BYTES) });
      expect(big.status).toBe(413);
      expect(big.json()).toMatchObject({ ok: false, code: ErrorCode.PAYLOAD_TOO_LARGE });
      // Chunked, with no length announced: refused all the same.
      const chunked = await send(`${s.url}/api/report`, {
        method: 'POST',
        headers: { 'transfer-encoding': 'chunked' },
        body: JSON.stringify({ discoveryKey: key, reason: 'y'.repeat(5_000) }),
      });
      expect(chunked.status).toBe(413);

      for (const method of ['GET', 'PUT', 'DELETE']) {
        const res = await send(`${s.url}/api/report`, { method });
        expect(res.status, method).toBe(405);
        expect(res.json()).toMatchObject({ ok: false });
      }
      const text = await metrics(s.url);
      expect(metric(text, 'ringswarm_reports_total')).toBe(1);
      expect(metric(text, 'ringswarm_reports_refused_total{reason="invalid"}')).toBe(bad.length + 2 + 3);
    });

    it('refuses a flood with 429 per source address and overall, and keeps serving', async () => {
      let t = 1_000_000;
      const { s, p } = await start({}, { now: () => t, reportLimits: { globalPerMinute: 8 } });
      const key = share().key;
      const flood = await Promise.all(
        Array.from({ length: 20 }, () => report(s.url, { discoveryKey: key, reason: 'flood' }, '127.0.0.1')),
      );
      const statuses = flood.map((r) => r.status);
      expect(statuses.filter((x) => x === 202)).toHaveLength(5);
      expect(statuses.filter((x) => x === 429)).toHaveLength(15);
      for (const r of flood.filter((x) => x.status === 429)) {
        expect(r.json()).toEqual({ ok: false, code: ErrorCode.RATE_LIMITED, message: expect.any(String) });
      }
      // Another address has its own allowance, until the server-wide cap (8 a minute) is reached.
      const others = [];
      for (const from of ['127.0.0.2', '127.0.0.2', '127.0.0.2', '127.0.0.3']) {
        others.push((await report(s.url, { discoveryKey: key, reason: 'other' }, from)).status);
      }
      expect(others).toEqual([202, 202, 202, 429]);

      // The server kept serving all along.
      expect((await send(`${s.url}/health`)).status).toBe(200);
      const a = await p.peer();
      expect(await announce(a.socket, key, 0)).toMatchObject({ ok: true });
      const text = await metrics(s.url);
      expect(metric(text, 'ringswarm_reports_total')).toBe(8);
      expect(metric(text, 'ringswarm_reports_refused_total{reason="rate"}')).toBe(16);

      // A minute later the allowance is back.
      t += 60_000;
      expect((await report(s.url, { discoveryKey: key, reason: 'later' }, '127.0.0.1')).status).toBe(202);
    });
  });

  describe('configuration', () => {
    it('reads --admin-token / RINGSWARM_ADMIN_TOKEN and --deny-list / DENY_LIST', () => {
      expect(loadConfig(['--admin-token', ADMIN, '--deny-list', '/etc/deny.txt'], {})).toMatchObject({
        adminToken: ADMIN,
        denyList: '/etc/deny.txt',
      });
      expect(loadConfig([], { RINGSWARM_ADMIN_TOKEN: ADMIN, DENY_LIST: '/x/deny' })).toMatchObject({
        adminToken: ADMIN,
        denyList: '/x/deny',
      });
      expect(loadConfig([], {})).toMatchObject({ adminToken: undefined, denyList: undefined });
      expect(() => loadConfig(['--admin-token', 'short'], {})).toThrow(ConfigError);
    });
  });
});

describe('deny list in a running server process', () => {
  let proc: ServerProcess | undefined;
  let pool: SocketPool | undefined;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ringswarm-operator-proc-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    pool?.closeAll();
    pool = undefined;
    await proc?.stop();
    proc = undefined;
  });

  it('rereads the list on SIGHUP, logs the count and bad lines, and keeps the old list on a failed reload', async () => {
    const [first, later] = [share(), share()];
    const file = join(dir, 'deny.txt');
    await writeFile(file, `${first.link}\n`);
    proc = await startServerProcess(['--deny-list', file, '--admin-token', ADMIN, '--log-level', 'info']);
    pool = new SocketPool(proc.url);
    const a = await pool.peer();
    expect(await announce(a.socket, first.key, 0)).toMatchObject({ ok: false, code: ErrorCode.BLOCKED });
    expect(await announce(a.socket, later.key, 0)).toMatchObject({ ok: true });

    await writeFile(file, `${first.link}\n\n# added after a report\n${later.key}\nnonsense\n`);
    proc.child.kill('SIGHUP');
    await expect.poll(() => proc?.output() ?? '', { timeout: 10_000 }).toMatch(/deny list reloaded: 2 entries/);
    expect(proc.output()).toMatch(/deny list line 5: /);
    expect(await announce(a.socket, later.key, 0, 'update')).toMatchObject({
      ok: false,
      code: ErrorCode.BLOCKED,
      message: BLOCKED_MESSAGE,
    });

    await unlink(file);
    proc.child.kill('SIGHUP');
    await expect.poll(() => proc?.output() ?? '', { timeout: 10_000 }).toMatch(/deny list reload failed/);
    expect(await announce(a.socket, later.key, 0)).toMatchObject({ ok: false, code: ErrorCode.BLOCKED });
    expect(proc.child.exitCode).toBeNull();
  });

  it('exits with a clear error when the deny list is missing at start', async () => {
    const missing = join(dir, 'missing.txt');
    await expect(startServerProcess(['--deny-list', missing])).rejects.toThrow(
      /exited with 1 before listening: .*cannot read the deny list .*missing\.txt: no such file \(ERR_DENY_LIST\)/s,
    );
  });
});
