/** Reading key lists from files given on the command line. */
import { readFileSync } from 'node:fs';
import { ERROR_CODES, NatterError } from '../errors.ts';

/**
 * The admin key file: one public key per line, as `natter id` prints it (64
 * hex digits), optionally followed by a comment; blank lines and lines
 * starting with # are skipped. Refuses a missing file, a bad line, or no keys.
 */
export function readKeyFile(file: string): Buffer[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new NatterError(ERROR_CODES.INVALID_ARGUMENT, `cannot read the admin key file ${file}: ${(cause as Error).message}`, { cause });
  }
  const keys: Buffer[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const hex = line.split(/\s+/)[0] as string;
    if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
      throw new NatterError(
        ERROR_CODES.INVALID_ARGUMENT,
        `${file} line ${i + 1}: expected a public key of 64 hex digits (natter id prints it)`,
      );
    }
    keys.push(Buffer.from(hex, 'hex'));
  });
  if (keys.length === 0) throw new NatterError(ERROR_CODES.INVALID_ARGUMENT, `the admin key file ${file} lists no keys`);
  return keys;
}

/** A secret kept in a file (a password): its first line, without the line break. Refuses a missing or empty file. */
export function readSecretFile(file: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new NatterError(ERROR_CODES.INVALID_ARGUMENT, `cannot read the ${what} file ${file}: ${(cause as Error).message}`, { cause });
  }
  const secret = text.split(/\r?\n/)[0] ?? '';
  if (secret === '') throw new NatterError(ERROR_CODES.INVALID_ARGUMENT, `the ${what} file ${file} is empty`);
  return secret;
}
