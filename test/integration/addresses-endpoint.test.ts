import { AddressesAnswerSchema } from '@ringswarm/shared/protocol';
import { type InterfaceList, type RunningServer, startServer } from '@ringswarm/signaling-server';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';

const LOOPBACK: InterfaceList = {
  lo: [
    { address: '127.0.0.1', family: 'IPv4', internal: true },
    { address: '::1', family: 'IPv6', internal: true },
  ],
};
const LAN: InterfaceList = {
  ...LOOPBACK,
  wlan0: [
    { address: 'fe80::20', family: 'IPv6', internal: false },
    { address: '2001:db8::20', family: 'IPv6', internal: false },
    { address: '192.168.1.20', family: 'IPv4', internal: false },
  ],
  docker0: [{ address: '172.17.0.1', family: 'IPv4', internal: false }],
};

describe('GET /api/addresses', () => {
  let server: RunningServer | undefined;

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('lists every origin other machines can use, in the chooser order, briefly cacheable, and follows changes', async () => {
    let interfaces = LAN;
    server = await startServer({ port: 0 }, { logger: pino({ level: 'silent' }), networkInterfaces: () => interfaces });
    const res = await fetch(`${server.url}/api/addresses`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('cache-control')).toBe('public, max-age=5');
    const port = server.port;
    const body: unknown = await res.json();
    // What the page reads it with takes it whole.
    expect(AddressesAnswerSchema.parse(body)).toEqual(body);
    expect(body).toEqual({
      origins: [`http://192.168.1.20:${port}`, `http://172.17.0.1:${port}`, `http://[2001:db8::20]:${port}`],
    });
    expect(server.origins()).toEqual((await (await fetch(`${server.url}/api/addresses`)).json()).origins);
    // The laptop leaves the network: only loopback is left.
    interfaces = LOOPBACK;
    expect(await (await fetch(`${server.url}/api/addresses`)).json()).toEqual({ origins: [] });
  });

  it('is empty for a server bound to loopback, whatever interfaces the machine has', async () => {
    server = await startServer(
      { port: 0, host: '127.0.0.1' },
      { logger: pino({ level: 'silent' }), networkInterfaces: () => LAN },
    );
    expect(await (await fetch(`${server.url}/api/addresses`)).json()).toEqual({ origins: [] });
  });
});
