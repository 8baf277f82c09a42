import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningServer, startServer } from '@ringswarm/signaling-server';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startServerProcess } from '../helpers/server-process.js';

/** GET with the path sent verbatim (fetch would normalize "..") */
function rawGet(url: string, path: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('static web client', () => {
  let server: RunningServer | undefined;
  let dir: string | undefined;

  afterEach(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    server = undefined;
    dir = undefined;
  });

  async function serve(withIndex: boolean) {
    dir = await mkdtemp(join(tmpdir(), 'ringswarm-static-'));
    if (withIndex) await writeFile(join(dir, 'index.html'), '<!doctype html><title>ringswarm</title>');
    server = await startServer(
      { port: 0, host: '127.0.0.1', staticDir: join(dir) },
      { logger: pino({ level: 'silent' }) },
    );
    return server;
  }

  it('serves index.html and stays inside its folder', async () => {
    const { url } = await serve(true);
    const index = await rawGet(url, '/');
    expect(index).toEqual({ status: 200, body: '<!doctype html><title>ringswarm</title>' });
    for (const path of ['/../package.json', '/..%2f..%2fpackage.json', '/%2e%2e/%2e%2e/etc/passwd', '/nothing.js']) {
      expect((await rawGet(url, path)).status).toBe(404);
    }
    expect((await rawGet(url, '/%E0%A4%A')).status).toBe(400);
  });

  it('says how to build the client when it is missing', async () => {
    const { url } = await serve(false);
    const res = await rawGet(url, '/');
    expect(res.status).toBe(503);
    expect(res.body).toContain('npm run build');
  });
});

describe('server process', () => {
  it('exits 2 with a clear message on a bad flag, and 0 on SIGTERM', async () => {
    await expect(startServerProcess(['--port', 'eighty'])).rejects.toThrow(/exited with 2.*port must be an integer/s);
    const proc = await startServerProcess();
    expect((await fetch(`${proc.url}/health`)).status).toBe(200);
    expect(await proc.stop()).toBe(0);
  });
});
