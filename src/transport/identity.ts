/**
 * A user's identity: an Ed25519 key pair, made on first use and kept in the
 * user's config directory (docs/security.md). The encrypted channel proves
 * possession of the key on every connection; people compare fingerprints.
 *
 * File format (JSON, mode 0600):
 *   { "version": 1, "type": "ed25519", "publicKey": HEX(32 bytes), "seed": HEX(32 bytes) }
 * The seed is the private key: libsodium and Node derive the same key pair from it.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { ERROR_CODES, NatterError } from '../errors.ts';

export interface Identity {
  /** Raw 32-byte Ed25519 public key. */
  publicKey: Buffer;
  /** Raw 32-byte Ed25519 seed (the private key). */
  seed: Buffer;
  /** The file it lives in. */
  file: string;
}

const KEY_BYTES = 32;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** Where the identity lives unless told otherwise: $XDG_CONFIG_HOME/natter/identity.json (default ~/.config). */
export function defaultIdentityFile(env: NodeJS.ProcessEnv = process.env): string {
  const config = env.XDG_CONFIG_HOME !== undefined && env.XDG_CONFIG_HOME !== '' ? env.XDG_CONFIG_HOME : join(homedir(), '.config');
  return join(config, 'natter', 'identity.json');
}

/**
 * A public key's fingerprint, for people to read aloud and compare: the first
 * 160 bits of its SHA-256 in lower-case base32, eight groups of four.
 */
export function fingerprint(publicKey: Buffer): string {
  const digest = createHash('sha256').update(publicKey).digest().subarray(0, 20);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of digest) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return (out.match(/.{4}/g) as string[]).join(' ');
}

function invalid(file: string, why: string, cause?: unknown): NatterError {
  return new NatterError(ERROR_CODES.INVALID_IDENTITY, `identity file ${file}: ${why}`, cause === undefined ? {} : { cause });
}

function hexKey(value: unknown, file: string, field: string): Buffer {
  if (typeof value !== 'string' || !/^[0-9a-f]{64}$/.test(value))
    throw invalid(file, `"${field}" must be ${KEY_BYTES} bytes of lower-case hex`);
  return Buffer.from(value, 'hex');
}

/** The public key that belongs to a seed. */
function publicKeyOf(seed: Buffer): Buffer {
  // PKCS#8 DER for Ed25519 is a fixed 16-byte prefix followed by the seed.
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
  const jwk = createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })).export({ format: 'jwk' });
  return Buffer.from(jwk.x as string, 'base64url');
}

/** Reads an identity file, refusing one that others can read or that does not hold a matching key pair. */
export function loadIdentity(file: string): Identity {
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw invalid(file, `permissions ${mode.toString(8)} let others read the private key; run: chmod 600 ${file}`);
  }
  let data: { version?: unknown; type?: unknown; publicKey?: unknown; seed?: unknown };
  try {
    data = JSON.parse(readFileSync(file, 'utf8')) as typeof data;
  } catch (cause) {
    throw invalid(file, 'not valid JSON', cause);
  }
  if (data.version !== 1 || data.type !== 'ed25519') throw invalid(file, 'expected {"version": 1, "type": "ed25519", ...}');
  const publicKey = hexKey(data.publicKey, file, 'publicKey');
  const seed = hexKey(data.seed, file, 'seed');
  if (!publicKeyOf(seed).equals(publicKey)) throw invalid(file, 'publicKey does not belong to seed');
  return { publicKey, seed, file };
}

/** Makes a new key pair and writes it, readable by the owner only. Refuses to overwrite. */
export function createIdentity(file: string): Identity {
  const jwk = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
  const seed = Buffer.from(jwk.d as string, 'base64url');
  const publicKey = Buffer.from(jwk.x as string, 'base64url');
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const body = `${JSON.stringify({ version: 1, type: 'ed25519', publicKey: publicKey.toString('hex'), seed: seed.toString('hex') }, null, 2)}\n`;
  try {
    writeFileSync(file, body, { mode: 0o600, flag: 'wx' });
  } catch (cause) {
    throw invalid(file, `cannot create it: ${(cause as Error).message}`, cause);
  }
  chmodSync(file, 0o600); // whatever the umask
  return { publicKey, seed, file };
}

/**
 * The identity in `file`; when there is none, a new one if `mayCreate`,
 * otherwise NATTER_ERR_NO_IDENTITY (a mistyped path must not quietly become
 * a new identity).
 */
export function loadIdentityFor(file: string, mayCreate: boolean): Identity & { isNew: boolean } {
  try {
    return { ...loadIdentity(file), isNew: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (!mayCreate) {
    throw new NatterError(
      ERROR_CODES.NO_IDENTITY,
      `there is no identity file ${file}; check the path, or add --new-identity to make a new identity there`,
    );
  }
  return { ...createIdentity(file), isNew: true };
}

/** The identity in `file`, made on first use. */
export function loadOrCreateIdentity(file: string = defaultIdentityFile()): Identity & { isNew: boolean } {
  try {
    return { ...loadIdentity(file), isNew: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return { ...createIdentity(file), isNew: true };
}
