/**
 * The user's identity and pinned keys for the commands that connect
 * (docs/security.md): `--identity FILE` and the known-peers file beside it.
 */
import { dirname, join } from 'node:path';
import { KnownPeers } from '../peer/known-peers.ts';
import { defaultIdentityFile, fingerprint, loadIdentityFor, type Identity } from '../transport/identity.ts';
import { keyPairFromSeed, type KeyPair } from '../transport/secure.ts';

export const IDENTITY_FLAG = [
  '--identity <file>',
  'identity file (default: $XDG_CONFIG_HOME/natter/identity.json); pinned keys live beside it in known-peers.json',
] as const;
export const NEW_IDENTITY_FLAG = [
  '--new-identity',
  'make a new identity in the --identity file if it does not exist (at the default place one is made anyway)',
  false,
] as const;

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
  if (identity.isNew && process.stderr.isTTY)
    process.stderr.write(`natter: created a new identity in ${identity.file} (fingerprint ${fingerprint(identity.publicKey)})\n`);
  return { identity, keyPair: keyPairFromSeed(identity.seed), known: KnownPeers.load(join(dirname(identity.file), 'known-peers.json')) };
}
