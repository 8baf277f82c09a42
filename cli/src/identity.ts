/**
 * The CLI's peer identity: a 32-byte Ed25519 seed in a per-user file, so a peer keeps its ID
 * (and its place in the ring) from run to run. Default `<config dir>/identity.json`, the
 * config dir being `RINGSWARM_CONFIG_DIR`, `$XDG_CONFIG_HOME/ringswarm` or `~/.config/ringswarm`;
 * `--identity FILE` picks another. The file is `{"version":1,"seed":"<64 hex>"}`, mode 0600, and
 * is refused when another user owns it or others may read it (as the tracker's TLS key is).
 *
 * Two processes must not be one peer at once (each would replace the other's tracker socket),
 * so a run holds `<file>.lock` (made exclusively, holding its pid, removed on exit; one whose
 * pid is dead is taken over). A second run on a held file uses a fresh identity and says so.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ErrorCode, identityFromSeed, type PeerIdentity, RingswarmError, randomIdentity } from '@ringswarm/shared';
import { userConfigDir } from '@ringswarm/signaling-server';

export interface HeldIdentity {
  identity: PeerIdentity;
  /** The file it came from; null for a fresh one (the file was held by another run). */
  path: string | null;
  /** One line for people when the file could not be used, else null. */
  note: string | null;
  /** Drops the lock (idempotent; also done at process exit). */
  release(): void;
}

export function defaultIdentityPath(env: NodeJS.ProcessEnv): string {
  return join(userConfigDir(env), 'identity.json');
}

const storeError = (message: string) => new RingswarmError(ErrorCode.IDENTITY_STORE, message);

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, as another user's.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes `<path>.lock`; false when a live process holds it. */
function lock(lockPath: string): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx', 0o600);
      writeFileSync(fd, `${process.pid}\n`);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let pid = Number.NaN;
    try {
      pid = Number.parseInt(readFileSync(lockPath, 'utf8'), 10);
    } catch {
      // Gone meanwhile: try again.
    }
    if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) return false;
    // Stale (its process died without removing it) or unreadable: take it over.
    rmSync(lockPath, { force: true });
  }
  return false;
}

function checkPrivate(path: string, info: { uid: number; mode: number }): void {
  const uid = process.getuid?.();
  const advice = ' (fix it, or pass --identity FILE, or set RINGSWARM_CONFIG_DIR to a folder of your own)';
  if (uid !== undefined && info.uid !== uid) {
    throw storeError(`${path} belongs to user ${info.uid}, not to this user (${uid})${advice}`);
  }
  if (uid !== undefined && (info.mode & 0o077) !== 0) {
    const mode = (info.mode & 0o777).toString(8).padStart(3, '0');
    throw storeError(`${path} is readable or writable by others (mode ${mode}; want 600)${advice}`);
  }
}

function readSeed(path: string): Uint8Array | null {
  let info: ReturnType<typeof statSync>;
  try {
    info = statSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw storeError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  checkPrivate(path, info);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw storeError(`${path} is not an identity file (JSON {"version":1,"seed":"<64 hex>"})`);
  }
  const seed = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>).seed : undefined;
  const version =
    typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>).version : undefined;
  if (version !== 1 || typeof seed !== 'string' || !/^[0-9a-f]{64}$/.test(seed)) {
    throw storeError(`${path} is not an identity file (JSON {"version":1,"seed":"<64 hex>"})`);
  }
  return Uint8Array.from(Buffer.from(seed, 'hex'));
}

function writeSeed(path: string, seed: Uint8Array): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(tmp, `${JSON.stringify({ version: 1, seed: Buffer.from(seed).toString('hex') })}\n`, {
      mode: 0o600,
      flag: 'wx',
    });
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw storeError(`cannot store the identity in ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
}

/**
 * The identity in `file` (default {@link defaultIdentityPath}), made on first use, held with
 * its lock until {@link HeldIdentity.release} or exit. Throws `ERR_IDENTITY_STORE` for an unsafe
 * or damaged file (never overwritten: it may be the only copy of a key).
 */
export function loadIdentity(file: string | undefined, env: NodeJS.ProcessEnv = process.env): HeldIdentity {
  const path = resolve(file ?? defaultIdentityPath(env));
  const lockPath = `${path}.lock`;
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  } catch (err) {
    throw storeError(`cannot make ${dirname(path)}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  let locked: boolean;
  try {
    locked = lock(lockPath);
  } catch (err) {
    throw storeError(`cannot lock ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  if (!locked) {
    return {
      identity: randomIdentity(),
      path: null,
      note: `${path} is in use by another ringswarm process: this run uses a fresh peer ID`,
      release: () => {},
    };
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.removeListener('exit', release);
    rmSync(lockPath, { force: true });
  };
  process.once('exit', release);
  try {
    let seed = readSeed(path);
    if (!seed) {
      seed = new Uint8Array(randomBytes(32));
      writeSeed(path, seed);
    }
    return { identity: identityFromSeed(seed), path, note: null, release };
  } catch (err) {
    release();
    throw err;
  }
}
