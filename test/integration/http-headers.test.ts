/**
 * Every HTTP answer of the server carries the security headers: the page, its assets, the
 * API, errors, socket.io's own answers (the polling handshake and the WebSocket upgrade), on
 * plain HTTP and over HTTPS, and the redirect the TLS port gives plain HTTP. The policy lets
 * scripts and workers come from this origin only and forbids framing.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningServer, startServer } from '@ringswarm/signaling-server';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN } from '../helpers/tracker-socket.js';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
}

/** One request, certificate unchecked (a self-signed one), the body drained; an upgrade answer counts too. */
function ask(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = url.startsWith('https:') ? httpsRequest : httpRequest;
    const req = request(url, { headers, agent: false, rejectUnauthorized: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
    });
    req.on('error', reject);
    req.end();
  });
}

/** The policy's directives by name. */
function directives(policy: string | undefined): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const part of (policy ?? '').split(';')) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) out.set(name.toLowerCase(), values);
  }
  return out;
}

function expectSecurityHeaders(answer: Answer, what: string): void {
  const csp = directives(answer.headers['content-security-policy'] as string | undefined);
  expect(csp.get('script-src'), `${what}: script-src`).toBeDefined();
  // Scripts from this origin only: no inline code, no eval, no other host.
  expect(
    csp.get('script-src')?.filter((v) => v !== "'wasm-unsafe-eval'"),
    `${what}: script-src`,
  ).toEqual(["'self'"]);
  expect(csp.get('worker-src'), `${what}: worker-src`).toEqual(["'self'"]);
  expect(csp.get('frame-ancestors'), `${what}: frame-ancestors`).toEqual(["'none'"]);
  expect(csp.get('object-src'), `${what}: object-src`).toEqual(["'none'"]);
  expect(csp.get('base-uri'), `${what}: base-uri`).toEqual(["'none'"]);
  expect(answer.headers['x-content-type-options'], what).toBe('nosniff');
  expect(answer.headers['referrer-policy'], what).toBe('no-referrer');
}

const WEBSOCKET_UPGRADE = {
  connection: 'Upgrade',
  upgrade: 'websocket',
  'sec-websocket-version': '13',
  'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
};

describe('security headers on every HTTP answer', () => {
  let dir: string;
  let server: RunningServer | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ringswarm-headers-'));
    const site = join(dir, 'site');
    await mkdir(join(site, 'assets'), { recursive: true });
    await writeFile(
      join(site, 'index.html'),
      '<!doctype html><title>t</title><script type="module" src="/assets/a.js"></script>',
    );
    await writeFile(join(site, 'assets', 'a.js'), 'console.log(1);\n');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const paths: [string, Record<string, string>][] = [
    ['/', {}],
    ['/index.html', {}],
    ['/assets/a.js', {}],
    ['/missing', {}],
    ['/health', {}],
    ['/api/stats', {}],
    ['/api/stats', { authorization: `Bearer ${ADMIN_TOKEN}` }],
    ['/api/stats', { authorization: 'Bearer wrong-token-0123456789' }],
    ['/api/addresses', {}],
    ['/api/ice', {}],
    ['/api/report', {}],
    ['/metrics', {}],
    ['/socket.io/?EIO=4&transport=polling', {}],
    ['/socket.io/?EIO=4&transport=websocket', WEBSOCKET_UPGRADE],
  ];

  for (const scheme of ['http', 'https'] as const) {
    it(`over ${scheme}: the page, its assets, the API, errors and socket.io's answers`, async () => {
      server = await startServer(
        {
          port: 0,
          host: '127.0.0.1',
          staticDir: join(dir, 'site'),
          adminToken: ADMIN_TOKEN,
          https: scheme === 'https',
          configDir: join(dir, 'config'),
        },
        { logger: pino({ level: 'silent' }) },
      );
      const statuses: number[] = [];
      for (const [path, headers] of paths) {
        const answer = await ask(`${server.url}${path}`, headers);
        statuses.push(answer.status);
        expectSecurityHeaders(answer, `${scheme} ${path}`);
      }
      // The answers are the real ones (page, asset, 404, API, the refused token, POST-only, upgrade).
      expect(statuses).toEqual([200, 200, 200, 404, 200, 200, 200, 401, 200, 200, 405, 200, 200, 101]);
      if (scheme === 'https') {
        // The TLS port's answer to someone who typed http://.
        const redirect = await ask(`http://127.0.0.1:${server.port}/`);
        expect(redirect.status).toBe(308);
        expectSecurityHeaders(redirect, 'the redirect to https');
      }
    });
  }
});
