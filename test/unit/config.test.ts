import { join } from 'node:path';
import { ConfigError, DEFAULTS, loadConfig, startupLines, userConfigDir } from '@ringswarm/signaling-server';
import { describe, expect, it } from 'vitest';

describe('server configuration', () => {
  it('defaults to port 8080 on all interfaces', () => {
    const config = loadConfig([], {});
    expect(config.port).toBe(8080);
    expect(config.host).toBeUndefined();
    expect(config.logLevel).toBe(DEFAULTS.logLevel);
  });

  it('takes PORT/HOST from the environment and lets flags win', () => {
    expect(loadConfig([], { PORT: '9000', HOST: '127.0.0.1' })).toMatchObject({ port: 9000, host: '127.0.0.1' });
    expect(loadConfig(['--port', '9001', '--host', '::1'], { PORT: '9000', HOST: '127.0.0.1' })).toMatchObject({
      port: 9001,
      host: '::1',
    });
  });

  it('limits new peer IDs per address to 32 per 10 minutes unless told otherwise; 0 turns it off', () => {
    expect(loadConfig([], {})).toMatchObject({ maxIdsPerIp: 32, idWindowS: 600 });
    expect(loadConfig(['--max-ids-per-ip', '0', '--id-window', '60'], { MAX_IDS_PER_IP: '5' })).toMatchObject({
      maxIdsPerIp: 0,
      idWindowS: 60,
    });
    expect(loadConfig([], { MAX_IDS_PER_IP: '5', ID_WINDOW: '30' })).toMatchObject({ maxIdsPerIp: 5, idWindowS: 30 });
    expect(() => loadConfig(['--max-ids-per-ip=-1'], {})).toThrow(/max-ids-per-ip must be an integer/);
  });

  it('runs the built-in STUN server on UDP 3478 unless told otherwise; 0 turns it off', () => {
    expect(loadConfig([], {}).stunPort).toBe(3478);
    expect(loadConfig([], { STUN_PORT: '0' }).stunPort).toBe(0);
    expect(loadConfig(['--stun-port', '3479'], { STUN_PORT: '0' }).stunPort).toBe(3479);
    expect(() => loadConfig(['--stun-port', '65536'], {})).toThrow(/stun-port must be an integer/);
  });

  it('turns HTTPS on with --https, HTTPS=1 or a certificate, and wants cert and key together', () => {
    expect(loadConfig([], {}).https).toBe(false);
    expect(loadConfig(['--https'], {}).https).toBe(true);
    expect(loadConfig([], { HTTPS: '1' }).https).toBe(true);
    expect(loadConfig([], { HTTPS: '0' }).https).toBe(false);
    expect(() => loadConfig([], { HTTPS: 'maybe' })).toThrow(ConfigError);
    expect(loadConfig(['--tls-cert', 'c.pem', '--tls-key', 'k.pem'], {})).toMatchObject({
      https: true,
      tlsCert: 'c.pem',
      tlsKey: 'k.pem',
    });
    expect(loadConfig([], { TLS_CERT: 'c.pem', TLS_KEY: 'k.pem' })).toMatchObject({ https: true });
    expect(() => loadConfig(['--tls-cert', 'c.pem'], {})).toThrow(/go together/);
    expect(() => loadConfig([], { TLS_KEY: 'k.pem' })).toThrow(/go together/);
  });

  it('keeps the self-signed certificate in the per-user config folder', () => {
    expect(
      userConfigDir({ RINGSWARM_CONFIG_DIR: '/srv/rs', XDG_CONFIG_HOME: '/home/user/xdg', HOME: '/home/user' }),
    ).toBe('/srv/rs');
    expect(userConfigDir({ XDG_CONFIG_HOME: '/home/user/xdg', HOME: '/home/user' })).toBe(
      join('/home/user/xdg', 'ringswarm'),
    );
    // XDG: a relative XDG_CONFIG_HOME is invalid and ignored.
    expect(userConfigDir({ XDG_CONFIG_HOME: 'rel', HOME: '/home/user' })).toBe(
      join('/home/user', '.config', 'ringswarm'),
    );
    expect(loadConfig([], { RINGSWARM_CONFIG_DIR: '/srv/rs' }).configDir).toBe('/srv/rs');
  });

  it('prints the local URL first, then every other origin, STUN and the certificate', () => {
    const base = { url: 'https://localhost:8080', stunPort: 3478, certificate: undefined };
    expect(startupLines({ ...base, stunPort: undefined }, [])).toEqual([
      'ringswarm listening on https://localhost:8080',
      '  (no other network address: only this machine can open the page)',
    ]);
    const lines = startupLines(
      {
        ...base,
        certificate: {
          cert: '',
          source: 'self-signed',
          certPath: '/home/user/.config/ringswarm/tls/self-signed.pem',
          created: true,
          fingerprint256: 'AB:CD',
          validTo: new Date('2027-12-01T00:00:00Z'),
        },
      },
      ['https://192.168.1.20:8080', 'https://[2001:db8::20]:8080'],
    );
    expect(lines.slice(0, 5)).toEqual([
      'ringswarm listening on https://localhost:8080',
      '  https://192.168.1.20:8080',
      '  https://[2001:db8::20]:8080',
      'STUN on UDP port 3478: peers get stun:<the host they opened>:3478',
      'TLS: self-signed certificate, made now, /home/user/.config/ringswarm/tls/self-signed.pem, valid until 2027-12-01',
    ]);
    expect(lines[5]).toBe('  SHA-256 AB:CD');
  });

  it('rejects bad values and unknown flags with a ConfigError', () => {
    for (const argv of [['--port', '-1'], ['--port', '70000'], ['--port', '8o'], ['--log-level', 'loud'], ['--nope']]) {
      expect(() => loadConfig(argv, {})).toThrow(ConfigError);
    }
    expect(() => loadConfig([], { PORT: 'x' })).toThrow(/port must be an integer/);
  });
});
