/**
 * Runs the server from command-line arguments until SIGINT/SIGTERM (npm start, `ringswarm
 * tracker`); SIGHUP rereads the deny list.
 */
import { ConfigError, loadConfig, USAGE } from './config.js';
import { DenyListError } from './deny-list.js';
import { type RunningServer, startServer } from './server.js';
import { StunBindError } from './stun/responder.js';
import { TlsError } from './tls.js';

/**
 * What `npm start` prints: the local URL, one URL per address other machines can use, the
 * STUN port, and the certificate when HTTPS is on.
 */
export function startupLines(
  server: Pick<RunningServer, 'url' | 'stunPort' | 'certificate'>,
  origins: readonly string[],
): string[] {
  const lines = [`ringswarm listening on ${server.url}`];
  if (origins.length === 0) lines.push('  (no other network address: only this machine can open the page)');
  for (const origin of origins) lines.push(`  ${origin}`);
  if (server.stunPort !== undefined) {
    lines.push(`STUN on UDP port ${server.stunPort}: peers get stun:<the host they opened>:${server.stunPort}`);
  }
  const cert = server.certificate;
  if (cert) {
    const until = cert.validTo.toISOString().slice(0, 10);
    if (cert.source === 'self-signed') {
      lines.push(
        `TLS: self-signed certificate${cert.created ? ', made now' : ''}, ${cert.certPath}, valid until ${until}`,
        `  SHA-256 ${cert.fingerprint256}`,
        '  browsers warn about it once per address: check the fingerprint, then accept (README, "HTTPS")',
      );
    } else {
      lines.push(`TLS: certificate ${cert.certPath}, valid until ${until}`);
    }
  }
  return lines;
}

/** Starts the server; resolves once it listens. Exits the process on bad arguments (2) or on a signal (0). */
export async function runServer(argv: string[], env: NodeJS.ProcessEnv, program = 'ringswarm-tracker'): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(argv, env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${program}: ${err.message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  if (config.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  let server: RunningServer;
  try {
    server = await startServer(config);
  } catch (err) {
    if (!(err instanceof TlsError || err instanceof StunBindError || err instanceof DenyListError)) throw err;
    process.stderr.write(`${program}: ${err.message} (${err.code})\n`);
    process.exit(1);
  }
  const stop = (signal: string) => {
    process.stdout.write(`ringswarm: ${signal}, shutting down\n`);
    server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  // The server logs the outcome; a failed reload keeps the old list.
  process.on('SIGHUP', () => {
    server.reloadDenyList().catch(() => {});
  });
  // Printed once the signals are handled: whoever waits for this line may stop the server at once.
  process.stdout.write(`${startupLines(server, server.origins()).join('\n')}\n`);
}
