/** Reading secrets from files given on the command line. */
import { readFileSync } from 'node:fs';
import { ERROR_CODES, NatterError } from '../errors.ts';

/** The token in `file`, without surrounding whitespace; refuses a missing or empty file. */
export function readTokenFile(file: string): Buffer {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new NatterError(ERROR_CODES.INVALID_ARGUMENT, `cannot read the token file ${file}: ${(cause as Error).message}`, { cause });
  }
  const token = text.trim();
  if (token.length === 0) throw new NatterError(ERROR_CODES.INVALID_ARGUMENT, `the token file ${file} is empty`);
  return Buffer.from(token, 'utf8');
}
