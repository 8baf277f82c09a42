import { ConfigError, DEFAULTS, loadConfig } from '@ringswarm/signaling-server';
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

  it('runs the built-in STUN server on UDP 3478 unless told otherwise; 0 turns it off', () => {
    expect(loadConfig([], {}).stunPort).toBe(3478);
    expect(loadConfig([], { STUN_PORT: '0' }).stunPort).toBe(0);
    expect(loadConfig(['--stun-port', '3479'], { STUN_PORT: '0' }).stunPort).toBe(3479);
    expect(() => loadConfig(['--stun-port', '65536'], {})).toThrow(/stun-port must be an integer/);
  });

  it('rejects bad values and unknown flags with a ConfigError', () => {
    for (const argv of [['--port', '-1'], ['--port', '70000'], ['--port', '8o'], ['--log-level', 'loud'], ['--nope']]) {
      expect(() => loadConfig(argv, {})).toThrow(ConfigError);
    }
    expect(() => loadConfig([], { PORT: 'x' })).toThrow(/port must be an integer/);
  });
});
