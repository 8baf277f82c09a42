import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmod, chown, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { get } from 'node:https';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import {
  createSelfSigned,
  type InterfaceList,
  type RunningServer,
  reachableAddresses,
  SELF_SIGNED_FILE,
  selfSignedIdentity,
  startServer,
} from '@ringswarm/signaling-server';
import { pino } from 'pino';
import { io } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startServerProcess } from '../helpers/server-process.js';
import { signedAuth } from '../helpers/signed-auth.js';
import { announce, randomInfoHash } from '../helpers/tracker-socket.js';

const silent = pino({ level: 'silent' });

/** A machine with one LAN address per family, and a link-local one that must not be named. */
const lan = (extra: { address: string; family: string }[] = []): InterfaceList => ({
  lo: [
    { address: '127.0.0.1', family: 'IPv4', internal: true },
    { address: '::1', family: 'IPv6', internal: true },
  ],
  eth0: [
    { address: '192.0.2.44', family: 'IPv4', internal: false },
    { address: '2001:db8::44', family: 'IPv6', internal: false },
    { address: 'fe80::44', family: 'IPv6', internal: false },
    ...extra.map((e) => ({ ...e, internal: false })),
  ],
});

/** GET over TLS that verifies the server against `ca`; resolves with the body and the server's certificate. */
function httpsGet(url: string, ca: string): Promise<{ status: number; body: string; cert: X509Certificate }> {
  return new Promise((resolve, reject) => {
    // A fresh connection each time (no agent, no resumed session), so the certificate is always sent.
    const req = get(url, { ca, agent: false }, (res) => {
      const cert = (res.socket as TLSSocket).getPeerX509Certificate();
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => {
        if (!cert) reject(new Error('no peer certificate'));
        else resolve({ status: res.statusCode ?? 0, body, cert });
      });
    });
    req.on('error', reject);
  });
}

/** A plain-HTTP GET of /p to 127.0.0.1:`port` with the given Host header. */
function plainGet(
  port: number,
  host: string,
): Promise<{ status: number; location: string | undefined; cache: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/p', headers: { host }, agent: false }, (res) => {
      res.resume();
      const cache = res.headers['cache-control'];
      resolve({ status: res.statusCode ?? 0, location: res.headers.location, cache });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('built-in HTTPS with a self-signed certificate', () => {
  let dir: string;
  let server: RunningServer | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ringswarm-tls-'));
  });

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const start = (interfaces: InterfaceList) =>
    startServer({ port: 0, https: true, configDir: dir }, { logger: silent, networkInterfaces: () => interfaces });

  it('serves the page, the API and the tracker (wss) over TLS, with a certificate naming every address', async () => {
    server = await start(lan());
    expect(server.url).toMatch(/^https:\/\/localhost:\d+$/);
    const ca = server.certificate!.cert;
    expect(server.certificate).toMatchObject({ source: 'self-signed', created: true });

    const health = await httpsGet(`${server.url}/health`, ca);
    expect(health.status).toBe(200);
    const served = health.cert;
    for (const ip of ['127.0.0.1', '::1', '192.0.2.44', '2001:db8::44']) expect(served.checkIP(ip), ip).toBe(ip);
    expect(served.checkIP('fe80::44')).toBeUndefined();
    expect(served.checkHost('localhost', { subject: 'never' })).toBe('localhost');
    expect(served.fingerprint256).toBe(server.certificate!.fingerprint256);
    // Verified against the certificate as a trust anchor by its IP address too.
    expect((await httpsGet(`https://127.0.0.1:${server.port}/health`, ca)).status).toBe(200);

    const addresses = await httpsGet(`${server.url}/api/addresses`, ca);
    expect(JSON.parse(addresses.body)).toEqual({
      origins: [`https://192.0.2.44:${server.port}`, `https://[2001:db8::44]:${server.port}`],
    });

    // The tracker over wss (the port speaks only TLS): a peer connects, websocket only, and announces.
    const socket = io(server.url, {
      ca,
      transports: ['websocket'],
      reconnection: false,
      auth: await signedAuth(),
    });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('connect_error', reject);
      });
      expect(socket.io.engine.transport.name).toBe('websocket');
      const ack = await announce(socket, randomInfoHash(), 0);
      expect(ack).toMatchObject({ ok: true });
    } finally {
      socket.disconnect();
    }

    // The key is kept for this user only.
    expect((await stat(join(dir, SELF_SIGNED_FILE))).mode & 0o077).toBe(0);
  });

  it('keeps the certificate across restarts, and makes a new one when an address it does not name appears', async () => {
    server = await start(lan());
    const first = server.certificate!;
    await server.close();
    server = await start(lan());
    expect(server.certificate).toMatchObject({ created: false, fingerprint256: first.fingerprint256 });
    await server.close();
    server = await start(lan([{ address: '198.51.100.7', family: 'IPv4' }]));
    expect(server.certificate!.created).toBe(true);
    expect(server.certificate!.fingerprint256).not.toBe(first.fingerprint256);
    const { cert } = await httpsGet(`${server.url}/health`, server.certificate!.cert);
    expect(cert.checkIP('198.51.100.7')).toBe('198.51.100.7');
    expect(cert.checkIP('192.0.2.44')).toBe('192.0.2.44');
  });

  it('refuses a stored certificate file that group or others can read or write (ERR_TLS_STORE)', async () => {
    const own = await mkdtemp(join(tmpdir(), 'ringswarm-tls-mode-'));
    try {
      const names = { dns: ['localhost'], ips: ['127.0.0.1'] };
      const made = await selfSignedIdentity(own, names, Date.now());
      await chmod(made.certPath, 0o644);
      await expect(selfSignedIdentity(own, names, Date.now())).rejects.toMatchObject({
        code: 'ERR_TLS_STORE',
        message: expect.stringMatching(/readable or writable by others \(mode 644/),
      });
      await expect(startServer({ port: 0, https: true, configDir: own }, { logger: silent })).rejects.toMatchObject({
        code: 'ERR_TLS_STORE',
      });
      await chmod(made.certPath, 0o600);
      expect(await selfSignedIdentity(own, names, Date.now())).toMatchObject({ fingerprint256: made.fingerprint256 });
    } finally {
      await rm(own, { recursive: true, force: true });
    }
  });

  it.skipIf(process.getuid?.() !== 0)(
    'refuses a stored certificate file owned by another user (ERR_TLS_STORE; needs root to chown)',
    async () => {
      const own = await mkdtemp(join(tmpdir(), 'ringswarm-tls-owner-'));
      try {
        const names = { dns: ['localhost'], ips: ['127.0.0.1'] };
        const made = await selfSignedIdentity(own, names, Date.now());
        await chown(made.certPath, 65534, 65534);
        await expect(selfSignedIdentity(own, names, Date.now())).rejects.toMatchObject({
          code: 'ERR_TLS_STORE',
          message: expect.stringMatching(/belongs to user 65534/),
        });
      } finally {
        await rm(own, { recursive: true, force: true });
      }
    },
  );

  it('redirects plain HTTP on the same port to https, and a silent connection does not hold up close()', async () => {
    server = await start(lan());
    const res = await fetch(`http://127.0.0.1:${server.port}/some/path?x=1#frag`, { redirect: 'manual' });
    expect(res.status).toBe(308);
    expect(res.headers.get('location')).toBe(`https://127.0.0.1:${server.port}/some/path?x=1`);
    const v6 = await fetch(`http://[::1]:${server.port}/`, { redirect: 'manual' });
    expect(v6.headers.get('location')).toBe(`https://[::1]:${server.port}/`);
    expect(res.headers.get('cache-control')).toBe('no-store');
    // Behind a port mapping the client's port is not ours: the Host header's port is kept, checked.
    const mapped = await plainGet(server.port, 'share.example:18443');
    expect(mapped).toMatchObject({ status: 308, location: 'https://share.example:18443/p', cache: 'no-store' });
    expect(await plainGet(server.port, 'share.example')).toMatchObject({ location: 'https://share.example/p' });
    expect(await plainGet(server.port, '[::1]:9')).toMatchObject({ location: 'https://[::1]:9/p' });
    expect((await plainGet(server.port, 'share.example:70000')).status).toBe(400);
    expect((await plainGet(server.port, 'share.example:0')).status).toBe(400);
    expect((await plainGet(server.port, 'a b:80')).status).toBe(400);
    expect((await httpsGet(`${server.url}/health`, server.certificate!.cert)).status).toBe(200);

    const silent = connect(server.port, '127.0.0.1');
    await new Promise((resolve) => silent.once('connect', resolve));
    const closed = new Promise((resolve) => silent.once('close', resolve));
    await server.close();
    await closed;
    server = undefined;
  });
});

describe('HTTPS with the operator certificate (--tls-cert, --tls-key)', () => {
  let dir: string;
  const files: Record<string, string> = {};
  let server: RunningServer | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ringswarm-tls-files-'));
    const now = Date.now();
    const good = await createSelfSigned({ dns: ['localhost'], ips: ['127.0.0.1'] }, now);
    const other = await createSelfSigned({ dns: ['localhost'], ips: [] }, now);
    // Valid for 365 days from two years ago: expired.
    const old = await createSelfSigned({ dns: ['localhost'], ips: [] }, now - 2 * 365 * 86_400_000);
    const write = async (name: string, text: string) => {
      files[name] = join(dir, name);
      await writeFile(files[name], text);
    };
    await write('cert.pem', good.cert);
    await write('key.pem', good.key);
    await write('other-key.pem', other.key);
    await write('old-cert.pem', old.cert);
    await write('old-key.pem', old.key);
    await write('garbage.pem', 'not a certificate\n');
  });

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the given certificate', async () => {
    server = await startServer(
      { port: 0, host: '127.0.0.1', tlsCert: files['cert.pem']!, tlsKey: files['key.pem']! },
      { logger: silent },
    );
    expect(server.scheme).toBe('https');
    expect(server.certificate).toMatchObject({ source: 'files', certPath: files['cert.pem'] });
    const { status, cert } = await httpsGet(`${server.url}/health`, server.certificate!.cert);
    expect(status).toBe(200);
    expect(cert.fingerprint256).toBe(new X509Certificate(server.certificate!.cert).fingerprint256);
  });

  it('refuses unreadable, invalid, mismatched and expired files with stable codes', async () => {
    const cases: [string, string, string][] = [
      [join(dir, 'missing.pem'), 'key.pem', 'ERR_TLS_CERT_UNREADABLE'],
      ['cert.pem', join(dir, 'missing.pem'), 'ERR_TLS_KEY_UNREADABLE'],
      ['garbage.pem', 'key.pem', 'ERR_TLS_CERT_INVALID'],
      ['cert.pem', 'garbage.pem', 'ERR_TLS_KEY_INVALID'],
      ['cert.pem', 'other-key.pem', 'ERR_TLS_KEY_MISMATCH'],
      ['old-cert.pem', 'old-key.pem', 'ERR_TLS_CERT_EXPIRED'],
    ];
    for (const [cert, key, code] of cases) {
      await expect(
        startServer(
          { port: 0, host: '127.0.0.1', tlsCert: files[cert] ?? cert, tlsKey: files[key] ?? key },
          { logger: silent },
        ),
        code,
      ).rejects.toMatchObject({ code });
    }
  });

  it('npm start says which certificate is wrong and exits 1; one file without the other exits 2', async () => {
    await expect(
      startServerProcess(['--tls-cert', files['cert.pem']!, '--tls-key', files['other-key.pem']!]),
    ).rejects.toThrow(/exited with 1.*does not belong to the certificate.*ERR_TLS_KEY_MISMATCH/s);
    await expect(startServerProcess(['--tls-cert', files['cert.pem']!])).rejects.toThrow(
      /exited with 2.*--tls-cert and --tls-key/s,
    );
  });

  it('npm start --https prints the https URLs and the self-signed certificate it made', async () => {
    const configDir = join(dir, 'config');
    let out = '';
    // All IPv4 interfaces (the helper would bind 127.0.0.1 alone): then every address is listed.
    const proc = await startServerProcess(['--https', '--host', '0.0.0.0'], (command, args) => {
      const child = spawn(command, args, {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, RINGSWARM_CONFIG_DIR: configDir },
      });
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
      });
      return child;
    });
    try {
      expect(proc.url).toMatch(/^https:\/\/localhost:\d+$/);
      await expect.poll(() => out).toContain('SHA-256');
      expect(out).toContain(`TLS: self-signed certificate, made now, ${join(configDir, SELF_SIGNED_FILE)}`);
      const port = new URL(proc.url).port;
      const lines = out.split('\n').filter((l) => /^ {2}https?:/.test(l));
      for (const line of lines) {
        expect(line).toMatch(new RegExp(`^  https://(\\d+\\.\\d+\\.\\d+\\.\\d+|\\[[0-9a-f:]+\\]):${port}$`));
      }
      // One line per address of this machine, so the loop above cannot pass on none.
      const addresses = reachableAddresses(networkInterfaces(), '0.0.0.0');
      expect(lines).toHaveLength(addresses.length);
      if (addresses.length === 0) expect(out).toContain('(no other network address');
    } finally {
      expect(await proc.stop()).toBe(0);
    }
  });
});
