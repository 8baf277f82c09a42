/** Which origin a share link names: loopback detection, the server's answer, the remembered pick. */
import { describe, expect, it } from 'vitest';
import { chooseShareOrigin, isLoopbackHost, parseAddresses } from '../../web-client/src/share-origin.js';

const LAN = 'http://192.168.1.20:8080';
const LAN6 = 'http://[fd00::20]:8080';
const localhost = { origin: 'http://localhost:8080', hostname: 'localhost' };

describe('isLoopbackHost', () => {
  it('knows localhost, 127.0.0.0/8 and [::1]', () => {
    for (const h of ['localhost', 'LOCALHOST', 'localhost.', 'app.localhost', '127.0.0.1', '127.1.2.3', '[::1]']) {
      expect(isLoopbackHost(h), h).toBe(true);
    }
  });

  it('does not mistake other hosts for loopback', () => {
    for (const h of [
      '192.168.1.20',
      '[fd00::1]',
      'example.com',
      'localhost.example.com',
      '127.0.0.1.nip.io',
      '10.127.0.1',
    ]) {
      expect(isLoopbackHost(h), h).toBe(false);
    }
  });
});

describe('parseAddresses', () => {
  it('keeps bare http(s) origins in order, without duplicates', () => {
    expect(parseAddresses({ origins: [LAN, `${LAN}/`, LAN6, 'https://192.168.1.20:8443'] })).toEqual([
      LAN,
      LAN6,
      'https://192.168.1.20:8443',
    ]);
  });

  it('drops what is not a bare http(s) origin', () => {
    expect(
      parseAddresses({
        origins: [
          42,
          null,
          'not a url',
          'ftp://192.168.1.20',
          'javascript:alert(1)',
          'http://192.168.1.20:8080/path',
          'http://192.168.1.20:8080/?q=1',
          'http://192.168.1.20:8080/#x',
          'http://user:pw@192.168.1.20:8080',
        ],
      }),
    ).toEqual([]);
  });

  it('answers an empty list for any malformed body', () => {
    for (const body of [null, 'x', 3, [], {}, { origins: 'http://a' }, { origins: null }]) {
      expect(parseAddresses(body)).toEqual([]);
    }
  });
});

describe('chooseShareOrigin', () => {
  it('a loopback page takes the first origin offered, with all offered to pick from', () => {
    expect(chooseShareOrigin(localhost, [LAN, LAN6], null)).toEqual({ origin: LAN, options: [LAN, LAN6] });
    expect(chooseShareOrigin({ origin: 'http://[::1]:8080', hostname: '[::1]' }, [LAN], null).origin).toBe(LAN);
  });

  it('takes the remembered pick while it is still offered', () => {
    expect(chooseShareOrigin(localhost, [LAN, LAN6], LAN6).origin).toBe(LAN6);
    expect(chooseShareOrigin(localhost, [LAN, LAN6], 'http://10.0.0.9:8080').origin).toBe(LAN);
  });

  it('keeps localhost when the server offers nothing', () => {
    expect(chooseShareOrigin(localhost, [], LAN)).toEqual({ origin: localhost.origin, options: [localhost.origin] });
  });

  it('a page opened by a reachable address keeps its own origin', () => {
    const lanPage = { origin: LAN, hostname: '192.168.1.20' };
    expect(chooseShareOrigin(lanPage, [LAN6], LAN6)).toEqual({ origin: LAN, options: [LAN] });
  });
});
