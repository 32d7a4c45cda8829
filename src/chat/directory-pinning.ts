/** How a chat holds its directory's key (docs/security.md): pinned per HOST:PORT on first use. */
import { ERROR_CODES, NatterError } from '../errors.ts';
import type { KnownPeers } from '../peer/known-peers.ts';
import { fingerprint } from '../transport/identity.ts';

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
