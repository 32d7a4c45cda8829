/**
 * The user's identity and pinned keys for the commands that connect
 * (docs/security.md): `--identity FILE` and the known-peers file beside it.
 */
import { dirname, join } from 'node:path';
import { ERROR_CODES, NatterError } from '../errors.ts';
import { KnownPeers } from '../peer/known-peers.ts';
import { defaultIdentityFile, fingerprint, loadIdentityFor, type Identity } from '../transport/identity.ts';
import { keyPairFromSeed, type KeyPair } from '../transport/secure.ts';

export const IDENTITY_FLAG = ['--identity <file>', 'identity file (default: $XDG_CONFIG_HOME/natter/identity.json); pinned keys live beside it in known-peers.json'] as const;
export const NEW_IDENTITY_FLAG = ['--new-identity', 'make a new identity in the --identity file if it does not exist (at the default place one is made anyway)', false] as const;

/** The flags every command that uses the identity takes. */
export interface IdentityFlags {
  identity?: string;
  newIdentity?: boolean;
}

export interface Credentials {
  identity: Identity;
  keyPair: KeyPair;
  known: KnownPeers;
}

/**
 * Loads the identity and the known-peers file beside it. A new identity is
 * made (and told on stderr) at the default place, or where --identity points
 * with --new-identity; a missing --identity file is otherwise an error.
 */
export function loadCredentials(flags: IdentityFlags): Credentials {
  const identity = loadIdentityFor(flags.identity ?? defaultIdentityFile(), flags.identity === undefined || flags.newIdentity === true);
  // Told to a person at a terminal; scripts and services see the file appear.
  if (identity.isNew && process.stderr.isTTY) process.stderr.write(`natter: created a new identity in ${identity.file} (fingerprint ${fingerprint(identity.publicKey)})\n`);
  return { identity, keyPair: keyPairFromSeed(identity.seed), known: KnownPeers.load(join(dirname(identity.file), 'known-peers.json')) };
}

/**
 * The check on a directory's key: pinned on first use, and a different key
 * later refused with both fingerprints, unless the user said
 * --trust-directory, which pins the key presented now (once).
 */
export function directoryPinning(address: string, known: KnownPeers, isTrusting: boolean): (key: Buffer) => void {
  let hasTrusted = false;
  return (key) => {
    const pin = known.directory(address);
    if (pin !== undefined && pin.key.equals(key)) return;
    if (pin === undefined || (isTrusting && !hasTrusted)) {
      hasTrusted = true;
      known.pinDirectory(address, key);
      return;
    }
    throw new NatterError(
      ERROR_CODES.KEY_MISMATCH,
      `the directory at ${address} proved key ${fingerprint(key)}, but ${fingerprint(pin.key)} was pinned for it on ${pin.since.slice(0, 10)} ` +
        `(${known.file ?? 'known peers'}). If its operator changed the key on purpose, run again with --trust-directory; otherwise this is not your directory.`,
    );
  };
}
