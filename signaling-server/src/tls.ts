/**
 * The certificate for `--https`: either the operator's own (`--tls-cert`/`--tls-key`,
 * checked before the server starts), or a self-signed one made on first start and kept in
 * the per-user config directory. The self-signed one names localhost, the loopback
 * addresses and every interface address; it is made again when an address it does not
 * name appears or when it nears its end. Browsers warn once per origin about it; the
 * README says how to accept it or use a real one.
 */
// @peculiar/x509 resolves its parsers through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import { createPrivateKey, type KeyObject, randomBytes, X509Certificate } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as x509 from '@peculiar/x509';

/** One day in milliseconds. */
const DAY_MS = 24 * 60 * 60 * 1000;
/** Days a self-signed certificate is valid. */
export const SELF_SIGNED_DAYS = 365;
/** A self-signed certificate this close to its end is made again. */
export const SELF_SIGNED_RENEW_MS = 30 * DAY_MS;
/** The certificate starts this long before now: the clock of a visitor's machine may be behind. */
const BACKDATE_MS = 3_600_000;
/** Key and certificate in one file, so a reader never pairs one run's key with another's certificate. */
export const SELF_SIGNED_FILE = join('tls', 'self-signed.pem');

export type TlsErrorCode =
  /** The certificate file cannot be read. */
  | 'ERR_TLS_CERT_UNREADABLE'
  /** The key file cannot be read. */
  | 'ERR_TLS_KEY_UNREADABLE'
  /** The certificate file holds no PEM certificate that parses. */
  | 'ERR_TLS_CERT_INVALID'
  /** The key file holds no private key that parses (or it is encrypted). */
  | 'ERR_TLS_KEY_INVALID'
  /** The key does not belong to the certificate. */
  | 'ERR_TLS_KEY_MISMATCH'
  /** The certificate's validity has ended. */
  | 'ERR_TLS_CERT_EXPIRED'
  /** The self-signed certificate cannot be stored in the config directory. */
  | 'ERR_TLS_STORE';

export class TlsError extends Error {
  override name = 'TlsError';
  constructor(
    readonly code: TlsErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Names a certificate must cover. */
export interface CertificateNames {
  dns: readonly string[];
  ips: readonly string[];
}

/** What `https.createServer` needs, and what `npm start` tells about it. */
export interface TlsIdentity {
  /** PEM, possibly a chain (leaf first). */
  cert: string;
  /** PEM private key. */
  key: string;
  source: 'files' | 'self-signed';
  /** The file the certificate was read from or stored in. */
  certPath: string;
  /** True when the self-signed certificate was made on this start. */
  created: boolean;
  /** SHA-256 fingerprint, colon-separated hex, as browsers show it. */
  fingerprint256: string;
  validTo: Date;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n[\s\S]+?-----END \1-----\r?\n?/g;

function pemBlocks(text: string, label: (l: string) => boolean): string {
  return [...text.matchAll(PEM_BLOCK)]
    .filter((m) => label(m[1] ?? ''))
    .map((m) => (m[0].endsWith('\n') ? m[0] : `${m[0]}\n`))
    .join('');
}

const isKeyLabel = (l: string) => l.endsWith('PRIVATE KEY');

function parseCert(pem: string): X509Certificate | undefined {
  try {
    return pem === '' ? undefined : new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

function parseKey(pem: string): KeyObject | undefined {
  try {
    return pem === '' ? undefined : createPrivateKey(pem);
  } catch {
    return undefined;
  }
}

/** True when `cert` names every DNS name and IP in `names` and stays valid past `untilMs`. */
export function certificateCovers(cert: X509Certificate, names: CertificateNames, untilMs: number): boolean {
  if (new Date(cert.validTo).getTime() <= untilMs) return false;
  return (
    names.dns.every((n) => cert.checkHost(n, { subject: 'never' }) !== undefined) &&
    names.ips.every((ip) => cert.checkIP(ip) !== undefined)
  );
}

/** Reads and checks the operator's certificate and key; throws {@link TlsError} with a stable code. */
export async function loadTlsFiles(certFile: string, keyFile: string, nowMs: number): Promise<TlsIdentity> {
  const read = async (file: string, code: TlsErrorCode, what: string) => {
    try {
      return await readFile(file, 'utf8');
    } catch (err) {
      throw new TlsError(code, `cannot read the TLS ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
  };
  const certText = await read(certFile, 'ERR_TLS_CERT_UNREADABLE', 'certificate');
  const keyText = await read(keyFile, 'ERR_TLS_KEY_UNREADABLE', 'key');
  const certPem = pemBlocks(certText, (l) => l === 'CERTIFICATE');
  const cert = parseCert(certPem);
  if (!cert) throw new TlsError('ERR_TLS_CERT_INVALID', `${certFile} holds no PEM certificate`);
  const keyPem = pemBlocks(keyText, isKeyLabel);
  const key = parseKey(keyPem);
  if (!key) {
    throw new TlsError('ERR_TLS_KEY_INVALID', `${keyFile} holds no unencrypted PEM private key`);
  }
  if (!cert.checkPrivateKey(key)) {
    throw new TlsError(
      'ERR_TLS_KEY_MISMATCH',
      `the key in ${keyFile} does not belong to the certificate in ${certFile}`,
    );
  }
  const validTo = new Date(cert.validTo);
  if (validTo.getTime() <= nowMs) {
    throw new TlsError('ERR_TLS_CERT_EXPIRED', `the certificate in ${certFile} expired on ${validTo.toISOString()}`);
  }
  return {
    cert: certPem,
    key: keyPem,
    source: 'files',
    certPath: certFile,
    created: false,
    fingerprint256: cert.fingerprint256,
    validTo,
  };
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** A new self-signed ECDSA P-256 certificate for `names`, valid {@link SELF_SIGNED_DAYS} days. */
export async function createSelfSigned(names: CertificateNames, nowMs: number): Promise<{ cert: string; key: string }> {
  // The global WebCrypto (Node 20+): typed as the DOM one where the DOM types are loaded, as the library expects.
  const crypto = globalThis.crypto;
  const keys = await crypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  // A positive serial number (RFC 5280 §4.1.2.2): top bit clear.
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f;
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serial.toString('hex'),
      name: 'CN=ringswarm (self-signed), O=ringswarm',
      notBefore: new Date(nowMs - BACKDATE_MS),
      notAfter: new Date(nowMs + SELF_SIGNED_DAYS * DAY_MS),
      keys,
      signingAlgorithm: ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension([
          ...names.dns.map((value) => ({ type: 'dns' as const, value })),
          ...names.ips.map((value) => ({ type: 'ip' as const, value })),
        ]),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  const pkcs8 = Buffer.from(await crypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  const key = `-----BEGIN PRIVATE KEY-----\n${pkcs8.match(/.{1,64}/g)?.join('\n')}\n-----END PRIVATE KEY-----\n`;
  return { cert: cert.toString('pem').replace(/\r\n/g, '\n').trimEnd().concat('\n'), key };
}

/**
 * Refuses a stored key another user could have planted or can read: the file must belong to
 * this process's user and give group and others no access (where the system has user IDs and
 * modes: not on Windows).
 * A missing file is fine (one is made).
 */
async function checkPrivate(path: string): Promise<void> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch {
    return;
  }
  const uid = process.getuid?.();
  const advice = ` (remove it to have a new one made, or set RINGSWARM_CONFIG_DIR to a folder of your own)`;
  if (uid !== undefined && info.uid !== uid) {
    throw new TlsError('ERR_TLS_STORE', `${path} belongs to user ${info.uid}, not to this user (${uid})${advice}`);
  }
  if (uid !== undefined && (info.mode & 0o077) !== 0) {
    const mode = (info.mode & 0o777).toString(8).padStart(3, '0');
    throw new TlsError('ERR_TLS_STORE', `${path} is readable or writable by others (mode ${mode}; want 600)${advice}`);
  }
}

/**
 * The self-signed certificate kept under `configDir`, made (again) when it is missing,
 * unreadable, does not name everything in `names`, or ends within {@link SELF_SIGNED_RENEW_MS}.
 * A certificate that names more than `names` (an address that went away) is kept: making a
 * new one would bring the browser warning back for every origin. A stored file not owned by
 * this user, or open to group or others, is refused with ERR_TLS_STORE (see {@link checkPrivate}).
 */
export async function selfSignedIdentity(
  configDir: string,
  names: CertificateNames,
  nowMs: number,
): Promise<TlsIdentity> {
  const path = join(configDir, SELF_SIGNED_FILE);
  await checkPrivate(path);
  let stored = '';
  try {
    stored = await readFile(path, 'utf8');
  } catch {
    // Missing or unreadable: make one.
  }
  const certPem = pemBlocks(stored, (l) => l === 'CERTIFICATE');
  const keyPem = pemBlocks(stored, isKeyLabel);
  const cert = parseCert(certPem);
  const key = parseKey(keyPem);
  if (cert && key && cert.checkPrivateKey(key) && certificateCovers(cert, names, nowMs + SELF_SIGNED_RENEW_MS)) {
    return identity(certPem, keyPem, path, false);
  }
  const made = await createSelfSigned(names, nowMs);
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await writeFile(tmp, made.key + made.cert, { mode: 0o600 });
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new TlsError(
      'ERR_TLS_STORE',
      `cannot store the self-signed certificate in ${path}: ${(err as NodeJS.ErrnoException).code ?? err}` +
        ' (set RINGSWARM_CONFIG_DIR to a writable folder, or give --tls-cert and --tls-key)',
    );
  }
  return identity(made.cert, made.key, path, true);
}

function identity(cert: string, key: string, certPath: string, created: boolean): TlsIdentity {
  const parsed = new X509Certificate(cert);
  return {
    cert,
    key,
    source: 'self-signed',
    certPath,
    created,
    fingerprint256: parsed.fingerprint256,
    validTo: new Date(parsed.validTo),
  };
}
