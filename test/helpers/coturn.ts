/**
 * A real coturn (`turnserver`) for the NAT tests: STUN and TURN on UDP 3478 of one address,
 * TURN REST API authentication (`use-auth-secret` + `static-auth-secret`), no TLS, no CLI,
 * state in a throwaway folder. It runs inside a namespace of a {@link NatLab}.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { NatLab } from './netns.js';

export const TURN_PORT = 3478;

export interface Coturn {
  /** The secret shared with the tracker (`--turn-secret`). */
  secret: string;
  stunUrl: string;
  turnUrl: string;
  /** Everything coturn logged so far. */
  log(): string;
}

/** Starts coturn on `ip` inside `ns` and resolves once its UDP listener is open. */
export function startCoturn(lab: NatLab, ns: string, ip: string, stateDir: string): Promise<Coturn> {
  const secret = randomBytes(16).toString('hex');
  const child = lab.spawn(ns, 'turnserver', [
    '-n', // no configuration file: only these options
    `--listening-ip=${ip}`,
    `--relay-ip=${ip}`,
    `--listening-port=${TURN_PORT}`,
    '--min-port=49152',
    '--max-port=65535',
    '--use-auth-secret',
    `--static-auth-secret=${secret}`,
    '--realm=ringswarm.test',
    '--fingerprint',
    '--no-tls',
    '--no-dtls',
    '--no-tcp-relay',
    '--no-cli',
    '--no-rfc5780',
    `--pidfile=${join(stateDir, 'turnserver.pid')}`,
    `--db=${join(stateDir, 'turndb')}`,
    '--log-file=stdout',
    '--simple-log',
    '--verbose',
  ]);
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`turnserver did not open its UDP listener within 10 s:\n${output}`));
    }, 10_000);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`turnserver exited with ${code} before listening:\n${output}`));
    };
    child.once('exit', onExit);
    const check = () => {
      if (!/UDP listener opened on/i.test(output)) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      child.stdout?.off('data', check);
      child.stderr?.off('data', check);
      resolve({
        secret,
        stunUrl: `stun:${ip}:${TURN_PORT}`,
        turnUrl: `turn:${ip}:${TURN_PORT}?transport=udp`,
        log: () => output,
      });
    };
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
  });
}
