/**
 * `ringswarm get` when the tracker's operator blocked the share: a stand-in tracker (socket.io,
 * in this process) refuses every announce with ERR_BLOCKED. The CLI says so with the code,
 * announces no more, and without the ring (nothing else can find peers) stops with exit 1.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BLOCKED_MESSAGE, discoveryKeyOf, ErrorCode } from '@ringswarm/shared';
import { Server } from 'socket.io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli-process.js';

const INFO_HASH = '5a'.repeat(32);

describe('the CLI and a blocked share', () => {
  let http: HttpServer;
  let io: Server;
  let url: string;
  /** The announces received, in order: discovery key and event. */
  const announces: string[] = [];

  beforeAll(async () => {
    http = createServer((_req, res) => {
      res.writeHead(404).end();
    });
    io = new Server(http, { transports: ['websocket'] });
    io.on('connection', (socket) => {
      socket.on('announce', (req: { discoveryKey: string; event: string }, ack: (res: unknown) => void) => {
        announces.push(`${req.discoveryKey} ${req.event}`);
        ack({ ok: false, code: ErrorCode.BLOCKED, message: 'this share is on the deny list' });
      });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => io.close(() => resolve()));
  });

  it('warns with ERR_BLOCKED, sends no stopped, and without the ring exits 1', async () => {
    const { code, stdout, stderr } = await runCli(['get', `${url}/#${INFO_HASH}`, '--no-ring', '--json']);
    expect(code, stderr).toBe(1);
    const events = stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { event: string; code?: string; message?: string });
    expect(events.filter((e) => e.code === ErrorCode.BLOCKED)).toEqual([
      { event: 'warning', code: ErrorCode.BLOCKED, message: BLOCKED_MESSAGE },
      { event: 'error', code: ErrorCode.BLOCKED, message: expect.stringContaining(BLOCKED_MESSAGE) },
    ]);
    // Only `started` (the one sent on creating the swarm, and the one on connecting, both in
    // flight before the refusal came back), no `stopped`; the tracker never saw the infohash.
    expect(announces.length).toBeGreaterThan(0);
    expect(new Set(announces)).toEqual(new Set([`${discoveryKeyOf(INFO_HASH)} started`]));
  }, 60_000);

  it('tells people the same, with the code', async () => {
    const { code, stderr } = await runCli(['get', `${url}/#${INFO_HASH}`, '--no-ring']);
    expect(code).toBe(1);
    expect(stderr).toContain(`warning: ${BLOCKED_MESSAGE} (${ErrorCode.BLOCKED})`);
  }, 60_000);
});
