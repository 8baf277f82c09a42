/**
 * Per-address limits at the tracker, checked in socket.io's allowRequest before the WebSocket
 * upgrade (and before any proof is verified): connections one address holds at once
 * (--max-conns-per-ip) and handshakes it starts per 10 s (--handshakes-per-ip). Loopback is
 * not exempt. A refusal carries a stable code: the upgrade's 400 body and the polling
 * handshake's 403 body name it; the refused request never becomes an engine connection.
 */
import { request } from 'node:http';
import { ErrorCode } from '@ringswarm/shared';
import {
  DEFAULTS,
  HANDSHAKE_WINDOW_S,
  loadConfig,
  type RunningServer,
  type ServerConfig,
  type StartOptions,
  startServer,
} from '@ringswarm/signaling-server';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { SocketPool } from '../helpers/tracker-socket.js';

/** A raw engine.io handshake from 127.0.0.1: the status and body the server answers with. */
function handshake(url: string, transport: 'websocket' | 'polling'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> =
      transport === 'websocket'
        ? {
            connection: 'Upgrade',
            upgrade: 'websocket',
            'sec-websocket-version': '13',
            'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
          }
        : {};
    const req = request(`${url}/socket.io/?EIO=4&transport=${transport}`, { headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, body: '' });
    });
    req.on('error', reject);
    req.end();
  });
}

const errorsCounted = async (url: string, code: string) => {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(new RegExp(`^ringswarm_errors_total\\{code="${code}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
};

describe('per-address limits before the upgrade', () => {
  let server: RunningServer | undefined;
  let pool: SocketPool | undefined;

  afterEach(async () => {
    pool?.closeAll();
    await server?.close();
    server = undefined;
  });

  async function start(config: Partial<ServerConfig>, options: StartOptions = {}) {
    server = await startServer(
      { port: 0, host: '127.0.0.1', ...config },
      { logger: pino({ level: 'silent' }), ...options },
    );
    pool = new SocketPool(server.url, options.now);
    return { s: server, p: pool };
  }

  it('defaults: 128 connections and 128 handshakes per 10 s per address, flags and env to change them', () => {
    expect(DEFAULTS).toMatchObject({ maxConnsPerIp: 128, handshakesPerIp: 128 });
    expect(HANDSHAKE_WINDOW_S).toBe(10);
    expect(loadConfig(['--max-conns-per-ip', '0', '--handshakes-per-ip', '7'], {})).toMatchObject({
      maxConnsPerIp: 0,
      handshakesPerIp: 7,
    });
    expect(loadConfig([], { MAX_CONNS_PER_IP: '5', HANDSHAKES_PER_IP: '0' })).toMatchObject({
      maxConnsPerIp: 5,
      handshakesPerIp: 0,
    });
  });

  it('refuses a connection past --max-conns-per-ip from loopback with ERR_TOO_MANY_CONNECTIONS, and takes one when a slot frees', async () => {
    const { s, p } = await start({ maxConnsPerIp: 3, handshakesPerIp: 0 });
    const peers = [await p.peer(), await p.peer(), await p.peer()];
    expect(s.io.engine.clientsCount).toBe(3);
    expect(await handshake(s.url, 'websocket')).toEqual({ status: 400, body: ErrorCode.TOO_MANY_CONNECTIONS });
    const polling = await handshake(s.url, 'polling');
    expect(polling.status).toBe(403);
    expect(JSON.parse(polling.body)).toMatchObject({ message: ErrorCode.TOO_MANY_CONNECTIONS });
    // A real client with a valid proof is refused the same way, before the upgrade.
    await expect(p.peer()).rejects.toThrow();
    expect(s.io.engine.clientsCount).toBe(3);
    expect(await errorsCounted(s.url, ErrorCode.TOO_MANY_CONNECTIONS)).toBe(3);
    // One leaves: its slot is free again.
    peers[0]!.socket.disconnect();
    await expect.poll(() => s.io.engine.clientsCount).toBe(2);
    await p.peer();
    expect(s.io.engine.clientsCount).toBe(3);
  });

  it('refuses handshakes past --handshakes-per-ip per 10 s with ERR_RATE_LIMITED, before any proof is checked', async () => {
    let t = Date.now();
    const now = () => t;
    const { s, p } = await start({ maxConnsPerIp: 0, handshakesPerIp: 4, maxIdsPerIp: 0 }, { now });
    // Handshakes count whether or not they prove anything: two junk ones, two real peers.
    expect((await p.refused({})).code).toBe(ErrorCode.INVALID_HANDSHAKE);
    expect((await p.refused({})).code).toBe(ErrorCode.INVALID_HANDSHAKE);
    await p.peer();
    await p.peer();
    expect(await handshake(s.url, 'websocket')).toEqual({ status: 400, body: ErrorCode.RATE_LIMITED });
    await expect(p.peer()).rejects.toThrow();
    expect(await errorsCounted(s.url, ErrorCode.RATE_LIMITED)).toBe(2);
    // The bucket refills 4 tokens per 10 s: one after 2.5 s.
    t += (HANDSHAKE_WINDOW_S * 1000) / 4;
    await p.peer();
    expect(await handshake(s.url, 'websocket')).toEqual({ status: 400, body: ErrorCode.RATE_LIMITED });
  });

  it('0 turns both limits off: more connections and handshakes than the defaults allow', async () => {
    const { s, p } = await start({ maxConnsPerIp: 0, handshakesPerIp: 0, maxIdsPerIp: 0 });
    const beyond = DEFAULTS.maxConnsPerIp + 8;
    for (let i = 0; i < beyond; i += 34) {
      await Promise.all(Array.from({ length: Math.min(34, beyond - i) }, () => p.peer()));
    }
    expect(s.io.engine.clientsCount).toBe(beyond);
  });
});
