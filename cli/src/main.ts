/**
 * `ringswarm`: seed and fetch from a terminal, in the same swarms as browsers.
 * Exit codes: 0 success, 1 failure (storage, network, no route to any peer: ERR_NO_ROUTE),
 * 2 bad arguments, 130 stopped by Ctrl-C.
 */
import { parseArgs } from 'node:util';
import { MAX_LINKS, RingswarmError } from '@ringswarm/shared';
import { runServer } from '@ringswarm/signaling-server';
import { get, type PeerOptions, ring, search, seed } from './commands/index.js';
import { Output } from './output.js';

const USAGE = `Usage:
  ringswarm seed <file|folder> [--tracker URL] [--name NAME] [--dht] [--public]
  ringswarm get <link> [--out DIR] [--no-seed]
  ringswarm ring [--tracker URL]       join the ring only: route signaling, hold DHT records
  ringswarm search <name> [--tracker URL]   find public shares by exact file name through the DHT
  ringswarm tracker [--port N] [--host ADDR] [tracker options, see ringswarm tracker --help]

Options for seed and get:
  --tracker URL          signaling server (seed: default http://localhost:8080; get: the link's)
  --upload-limit B       bytes per second sent, all swarms (default unlimited)
  --download-limit B     bytes per second received (default unlimited)
  --stun URL             a STUN server, e.g. stun:stun.example.org:3478 (repeatable)
  --turn URL             a TURN server, e.g. turn:turn.example.org:3478 (repeatable)
  --turn-username U, --turn-credential C   credentials for the TURN servers
                         (without --stun/--turn: the tracker's, from its /api/ice)
  --dht                  (seed) a trackerless link: peers find it through the ring's DHT
  --public               (seed) list the share publicly: its name and its files' names go into
                         the ring's DHT, and reveal its link to anyone who searches for one of
                         them (ringswarm search NAME). Default: private, found by its link only
  --no-ring              do not join the ring (tracker-only; trackerless links need the ring)
  --max-links N          most WebRTC connections at once, ring pointers first (default 32)
  --identity FILE        the peer's key, kept across runs (default
                         $RINGSWARM_CONFIG_DIR, $XDG_CONFIG_HOME/ringswarm or ~/.config/ringswarm,
                         file identity.json, mode 600); a second run on a file in use gets a fresh ID
  --json                 one JSON object per line instead of a progress display
  -h, --help             show this help`;

class UsageError extends Error {}

const PEER_FLAGS = {
  tracker: { type: 'string' },
  'upload-limit': { type: 'string' },
  'download-limit': { type: 'string' },
  stun: { type: 'string', multiple: true },
  turn: { type: 'string', multiple: true },
  'turn-username': { type: 'string' },
  'turn-credential': { type: 'string' },
  json: { type: 'boolean' },
  'no-ring': { type: 'boolean' },
  'max-links': { type: 'string' },
  identity: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function byteRate(flag: string, raw: string | undefined): number | null {
  if (raw === undefined) return null;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`--${flag} must be a positive whole number of bytes per second`);
  }
  return n;
}

function maxLinks(raw: string | undefined): number {
  if (raw === undefined) return MAX_LINKS;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 4 || n > 1000)
    throw new UsageError('--max-links must be a whole number from 4 to 1000');
  return n;
}

function url(flag: string, raw: string, schemes: string[]): string {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new UsageError(`--${flag} ${raw} is not a URL`);
  }
  if (!schemes.includes(parsed.protocol)) throw new UsageError(`--${flag} must use ${schemes.join(' or ')}`);
  return raw;
}

function peerOptions(values: Record<string, unknown>, defaultTracker: string): PeerOptions {
  const iceServers: RTCIceServer[] = [];
  for (const stun of (values.stun as string[] | undefined) ?? [])
    iceServers.push({ urls: url('stun', stun, ['stun:']) });
  const turn = (values.turn as string[] | undefined) ?? [];
  if (turn.length > 0) {
    const username = values['turn-username'] as string | undefined;
    const credential = values['turn-credential'] as string | undefined;
    if (username === undefined || credential === undefined) {
      throw new UsageError('--turn needs --turn-username and --turn-credential');
    }
    iceServers.push({ urls: turn.map((t) => url('turn', t, ['turn:', 'turns:'])), username, credential });
  }
  const tracker = values.tracker as string | undefined;
  return {
    tracker: tracker === undefined ? defaultTracker : new URL(url('tracker', tracker, ['http:', 'https:'])).origin,
    iceServers,
    iceFromTracker: iceServers.length === 0,
    uploadLimit: byteRate('upload-limit', values['upload-limit'] as string | undefined),
    downloadLimit: byteRate('download-limit', values['download-limit'] as string | undefined),
    json: values.json === true,
    ring: values['no-ring'] !== true,
    maxLinks: maxLinks(values['max-links'] as string | undefined),
    identityFile: values.identity as string | undefined,
  };
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'tracker') {
    await runServer(rest, process.env, 'ringswarm tracker');
    return -1; // keeps running until a signal
  }
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined ? 2 : 0;
  }
  if (command !== 'seed' && command !== 'get' && command !== 'ring' && command !== 'search') {
    throw new UsageError(`unknown command "${command}"`);
  }
  let parsed: { values: Record<string, string | boolean | (string | boolean)[] | undefined>; positionals: string[] };
  const commandFlags: Record<string, { type: 'string' | 'boolean' }> =
    command === 'seed'
      ? { name: { type: 'string' }, dht: { type: 'boolean' }, public: { type: 'boolean' } }
      : command === 'get'
        ? { out: { type: 'string' }, 'no-seed': { type: 'boolean' } }
        : {};
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...PEER_FLAGS, ...commandFlags },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (command === 'ring') {
    if (positionals.length !== 0) throw new UsageError('ring takes no arguments');
    const options = peerOptions(values, 'http://localhost:8080');
    if (!options.ring) throw new UsageError('ring and --no-ring do not go together');
    return ring(options, new Output(values.json === true));
  }
  if (command === 'search') {
    if (positionals.length !== 1) throw new UsageError('search takes exactly one file name');
    const options = peerOptions(values, 'http://localhost:8080');
    if (!options.ring) throw new UsageError('search works through the ring; drop --no-ring');
    return search(positionals[0]!, options, new Output(values.json === true));
  }
  if (positionals.length !== 1)
    throw new UsageError(`${command} takes exactly one ${command === 'seed' ? 'file or folder' : 'link'}`);
  const out = new Output(values.json === true);
  if (command === 'seed') {
    const options = peerOptions(values, 'http://localhost:8080');
    if (values.dht === true && !options.ring) throw new UsageError('--dht needs the ring; drop --no-ring');
    if (values.public === true && !options.ring)
      throw new UsageError('--public lists the share in the ring; drop --no-ring');
    return seed(
      {
        target: positionals[0]!,
        name: values.name as string | undefined,
        mode: values.dht === true ? 'dht' : 'tracker',
        public: values.public === true,
      },
      options,
      out,
    );
  }
  const options = peerOptions(values, '');
  return get(
    {
      link: positionals[0]!,
      outDir: (values.out as string | undefined) ?? '.',
      keepSeeding: values['no-seed'] !== true,
    },
    options,
    out,
  );
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`ringswarm: ${err.message}\n\n${USAGE}\n`);
      process.exit(2);
    }
    const code = err instanceof RingswarmError ? err.code : ((err as NodeJS.ErrnoException).code ?? 'ERR_FAILED');
    process.stderr.write(`ringswarm: ${(err as Error).message} (${code})\n`);
    process.exit(err instanceof RingswarmError && err.code === 'ERR_BAD_LINK' ? 2 : 1);
  },
);
