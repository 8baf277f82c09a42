import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { type RunningServer, StunResponder, startServer } from '@ringswarm/signaling-server';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ask, COOKIE, parseAnswer, stunMessage, udpSocket, xorMapped } from '../helpers/stun-client.js';
import { until } from '../helpers/until.js';

const STUNCLIENT = '/usr/bin/turnutils_stunclient';
const BINDING_REQUEST = 0x0001;
const BINDING_SUCCESS = 0x0101;
const BINDING_ERROR = 0x0111;
/** Datagrams sent at once in the fuzz test. */
const BATCH = 20;

/** The server's log lines, to see which source address it answered. */
const logLines: Record<string, unknown>[] = [];
const logger = pino(
  { level: 'debug' },
  {
    write(line: string) {
      logLines.push(JSON.parse(line));
    },
  },
);

/** A counter's value in the Prometheus text, 0 when absent. */
function metric(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

function getJson(url: string, host: string): Promise<{ status: number; body: unknown }> {
  const { hostname, port, pathname } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path: pathname, headers: { host } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('built-in STUN server', () => {
  let server: RunningServer;
  let stunPort: number;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    server = await startServer({ port: 0 }, { logger, stunAnyPort: true });
    stunPort = server.stunPort!;
  });

  afterAll(async () => {
    await server?.close();
  });

  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
  });

  async function socketOn(host: string) {
    const s = await udpSocket(host);
    sockets.push(s);
    return s;
  }

  it("coturn's turnutils_stunclient gets its own address and port back", async () => {
    if (!existsSync(STUNCLIENT)) throw new Error(`${STUNCLIENT} is missing: apt-get install coturn`);
    logLines.length = 0;
    const { stdout } = await promisify(execFile)(STUNCLIENT, ['-p', String(stunPort), '127.0.0.1'], {
      timeout: 10_000,
      // It does not stop on SIGTERM while it waits for an answer.
      killSignal: 'SIGKILL',
    });
    // e.g. "0: : IPv4. UDP reflexive addr: 127.0.0.1:52890"
    const match = /IPv4\. UDP reflexive addr: ([\d.]+):(\d+)/.exec(stdout);
    expect(match, stdout).not.toBeNull();
    const seen = logLines.find((l) => l.msg === 'stun binding request');
    expect(seen).toBeDefined();
    expect(match![1]).toBe('127.0.0.1');
    expect(Number(match![2])).toBe(seen!.port);
  });

  for (const host of ['127.0.0.1', '::1']) {
    it(`answers a Binding request from ${host} with XOR-MAPPED-ADDRESS and the same transaction ID`, async () => {
      const socket = await socketOn(host);
      const transactionId = randomBytes(12);
      const reply = await ask(socket, host, stunPort, stunMessage(BINDING_REQUEST, transactionId));
      expect(reply).toBeDefined();
      const answer = parseAnswer(reply!);
      expect(answer.type).toBe(BINDING_SUCCESS);
      expect(answer.transactionId.equals(transactionId)).toBe(true);
      expect(xorMapped(answer)).toEqual({
        family: host === '::1' ? 'IPv6' : 'IPv4',
        address: host,
        port: socket.address().port,
      });
      // No FINGERPRINT asked, none given.
      expect(answer.fingerprintOk).toBeUndefined();
    });
  }

  it('answers a request with a FINGERPRINT with a valid FINGERPRINT, and ignores a SOFTWARE attribute', async () => {
    const socket = await socketOn('127.0.0.1');
    const software = { type: 0x8022, value: Buffer.from('ringswarm-test') };
    const reply = await ask(socket, '127.0.0.1', stunPort, stunMessage(BINDING_REQUEST, undefined, [software], true));
    const answer = parseAnswer(reply!);
    expect(answer.type).toBe(BINDING_SUCCESS);
    expect(answer.fingerprintOk).toBe(true);
    expect(xorMapped(answer).port).toBe(socket.address().port);
  });

  it('answers 420 with UNKNOWN-ATTRIBUTES to a comprehension-required attribute it does not know (CHANGE-REQUEST)', async () => {
    const socket = await socketOn('127.0.0.1');
    const changeRequest = { type: 0x0003, value: Buffer.from([0, 0, 0, 6]) };
    const reply = await ask(socket, '127.0.0.1', stunPort, stunMessage(BINDING_REQUEST, undefined, [changeRequest]));
    const answer = parseAnswer(reply!);
    expect(answer.type).toBe(BINDING_ERROR);
    const errorCode = answer.attrs.find((a) => a.type === 0x0009)!.value;
    expect(errorCode[2]! * 100 + errorCode[3]!).toBe(420);
    expect([...answer.attrs.find((a) => a.type === 0x000a)!.value]).toEqual([0x00, 0x03]);
  });

  it('drops malformed datagrams, counts them in /metrics, and keeps answering', async () => {
    const socket = await socketOn('127.0.0.1');
    const before = await (await fetch(`${server.url}/metrics`)).text();
    const valid = stunMessage(BINDING_REQUEST);
    const wrongCookie = Buffer.from(valid);
    wrongCookie.writeUInt32BE(COOKIE ^ 1, 4);
    const badLength = Buffer.concat([valid, Buffer.alloc(4)]); // length field says 0, 4 bytes follow
    const badFingerprint = stunMessage(BINDING_REQUEST, undefined, [], true);
    badFingerprint[badFingerprint.length - 1]! ^= 0xff;
    const overrun = stunMessage(BINDING_REQUEST, undefined, [{ type: 0x8022, value: Buffer.alloc(8) }]);
    overrun.writeUInt16BE(200, 22); // the attribute claims more bytes than the message has
    const crafted: [string, Buffer][] = [
      ['short', valid.subarray(0, 19)],
      ['short', Buffer.alloc(0)],
      ['oversize', Buffer.concat([valid, randomBytes(4000)])],
      ['cookie', wrongCookie],
      ['length', badLength],
      ['type', stunMessage(BINDING_SUCCESS)],
      ['type', stunMessage(0x0003)], // Allocate (TURN), not Binding
      ['not-stun', Buffer.from([0xc0, ...valid.subarray(1)])],
      ['fingerprint', badFingerprint],
      ['attribute', overrun],
    ];
    // Random datagrams of every size: never a valid request (their cookie is forced wrong).
    const random = fc
      .sample(fc.uint8Array({ minLength: 0, maxLength: 600 }), { numRuns: 200, seed: 15 })
      .map((bytes) => {
        const b = Buffer.from(bytes);
        if (b.length >= 8 && b.readUInt32BE(4) === COOKIE) b[4]! ^= 1;
        return b;
      });
    // Truncations of a valid request with a FINGERPRINT, at every length.
    const whole = stunMessage(BINDING_REQUEST, undefined, [{ type: 0x8022, value: Buffer.from('abc') }], true);
    const truncated = Array.from({ length: whole.length - 1 }, (_, n) => whole.subarray(0, n));
    const all = [...crafted.map(([, b]) => b), ...random, ...truncated];
    // In batches, each one read before the next is sent: a burst of hundreds of datagrams could
    // overflow the socket's receive buffer, and a dropped datagram would not be counted.
    const dropped = () => Object.values(server.stun.malformed).reduce((n, v) => n + v, 0);
    const start = dropped();
    for (let i = 0; i < all.length; i += BATCH) {
      for (const packet of all.slice(i, i + BATCH)) socket.send(packet, stunPort, '127.0.0.1');
      const expected = start + Math.min(i + BATCH, all.length);
      await until(() => dropped() === expected, 5_000, `${expected - start} datagrams dropped and counted`);
    }
    // A Binding indication is valid STUN and never answered.
    const indication = await ask(socket, '127.0.0.1', stunPort, stunMessage(0x0011), 500);
    expect(indication).toBeUndefined();

    const total = (text: string) =>
      text
        .split('\n')
        .filter((l) => l.startsWith('ringswarm_stun_malformed_total{'))
        .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
    await expect
      .poll(async () => total(await (await fetch(`${server.url}/metrics`)).text()), { timeout: 5_000 })
      .toBe(total(before) + all.length);
    const after = await (await fetch(`${server.url}/metrics`)).text();
    for (const reason of new Set(crafted.map(([r]) => r))) {
      const sent = crafted.filter(([r]) => r === reason).length;
      expect(metric(after, 'ringswarm_stun_malformed_total', `reason="${reason}"`)).toBeGreaterThanOrEqual(
        metric(before, 'ringswarm_stun_malformed_total', `reason="${reason}"`) + sent,
      );
    }

    // Still serving: STUN answers, HTTP answers.
    const reply = await ask(socket, '127.0.0.1', stunPort, valid);
    expect(parseAnswer(reply!).type).toBe(BINDING_SUCCESS);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    const requests = metric(
      await (await fetch(`${server.url}/metrics`)).text(),
      'ringswarm_stun_requests_total',
      'family="ipv4"',
    );
    expect(requests).toBeGreaterThan(metric(before, 'ringswarm_stun_requests_total', 'family="ipv4"'));
  });

  it('/api/ice names the built-in STUN server by the host the page used, before configured ones', async () => {
    const url = `${server.url}/api/ice`;
    const cases: [string, string | undefined][] = [
      [`127.0.0.1:${server.port}`, `stun:127.0.0.1:${stunPort}`],
      [`[::1]:${server.port}`, `stun:[::1]:${stunPort}`],
      ['Ringswarm.Example:443', `stun:ringswarm.example:${stunPort}`],
      ['laptop.local', `stun:laptop.local:${stunPort}`],
      ['[fe80::1%25eth0]:8080', undefined],
      ['evil.example/path', undefined],
      ['a b', undefined],
      ['-bad-.example', undefined],
    ];
    for (const [host, expected] of cases) {
      const { status, body } = await getJson(url, host);
      expect(status).toBe(200);
      expect(body, host).toEqual({ iceServers: expected ? [{ urls: [expected] }] : [], ttl: 0 });
    }
  });
});

describe('built-in STUN server settings', () => {
  let server: RunningServer | undefined;

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('comes before the configured STUN servers in /api/ice', async () => {
    server = await startServer(
      { port: 0, host: '127.0.0.1', stunUrls: ['stun:stun.example.org:3478'] },
      { logger: pino({ level: 'silent' }), stunAnyPort: true },
    );
    const { body } = await getJson(`${server.url}/api/ice`, `127.0.0.1:${server.port}`);
    expect(body).toEqual({
      iceServers: [{ urls: [`stun:127.0.0.1:${server.stunPort}`] }, { urls: ['stun:stun.example.org:3478'] }],
      ttl: 0,
    });
  });

  it('is off with stunPort 0, and off by default when started from code', async () => {
    for (const overrides of [{ stunPort: 0 }, {}]) {
      server = await startServer({ port: 0, host: '127.0.0.1', ...overrides }, { logger: pino({ level: 'silent' }) });
      expect(server.stunPort).toBeUndefined();
      expect(await (await fetch(`${server.url}/api/ice`)).json()).toEqual({ iceServers: [], ttl: 0 });
      await server.close();
    }
  });

  it('fails to start with ERR_STUN_BIND when the UDP port is taken', async () => {
    const first = await startServer(
      { port: 0, host: '127.0.0.1' },
      { logger: pino({ level: 'silent' }), stunAnyPort: true },
    );
    try {
      await expect(
        startServer({ port: 0, host: '127.0.0.1', stunPort: first.stunPort! }, { logger: pino({ level: 'silent' }) }),
      ).rejects.toMatchObject({ code: 'ERR_STUN_BIND', message: expect.stringMatching(/EADDRINUSE.*--stun-port/) });
    } finally {
      await first.close();
    }
  });

  it('frees the UDP port before a failed start rejects (the HTTP port was taken)', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const httpPort = (taken.address() as { port: number }).port;
    // A UDP port free now, for the server to take and then let go.
    const probe = createSocket('udp4');
    await new Promise<void>((resolve) => probe.bind(0, '127.0.0.1', resolve));
    const udpPort = probe.address().port;
    await new Promise<void>((resolve) => probe.close(resolve));
    try {
      await expect(
        startServer({ port: httpPort, host: '127.0.0.1', stunPort: udpPort }, { logger: pino({ level: 'silent' }) }),
      ).rejects.toMatchObject({ code: 'EADDRINUSE' });
      // Synchronously after the rejection: the port is bindable again.
      const again = createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        again.once('error', reject);
        again.bind(udpPort, '127.0.0.1', resolve);
      });
      await new Promise<void>((resolve) => again.close(resolve));
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('answers from the address the request was sent to, one socket per address (127.0.0.1 and 127.0.0.2)', async () => {
    const responder = await StunResponder.listen({
      port: 0,
      logger: pino({ level: 'silent' }),
      interfaces: () => ({}),
      extraAddresses: ['127.0.0.2'],
    });
    const client = await udpSocket('127.0.0.1');
    try {
      expect(responder.addresses).toEqual(expect.arrayContaining(['127.0.0.1', '127.0.0.2']));
      for (const to of ['127.0.0.2', '127.0.0.1']) {
        const from = new Promise<string>((resolve) => client.once('message', (_m, rinfo) => resolve(rinfo.address)));
        client.send(stunMessage(BINDING_REQUEST), responder.port, to);
        // A wildcard socket would answer a request to 127.0.0.2 from 127.0.0.1 (the route back's source).
        expect(await from).toBe(to);
      }
      expect(responder.counter.requests.ipv4).toBe(2);
    } finally {
      client.close();
      await responder.destroy();
      await responder.destroy();
    }
  });
});
