/**
 * Reads the hex test vectors embedded in docs/protocol.md. Two kinds of
 * fenced block, each two lines long:
 *
 *   ```vector          the message as JSON, then the frame in hex: the frame
 *                      must decode to the message and the message encode to it
 *   ```vector-error    {"error": CODE}, then a frame in hex that a receiver
 *                      must refuse with that code
 *
 * Hex may have spaces between fields.
 */
import { readFileSync } from 'node:fs';
import type { NatterErrorCode } from '../../src/errors.ts';
import type { Message } from '../../src/protocol/messages.ts';

export interface Vector {
  message: Message;
  bytes: Buffer;
  line: number;
}

export interface ErrorVector {
  code: NatterErrorCode;
  bytes: Buffer;
  line: number;
}

const DOC = new URL('../../docs/protocol.md', import.meta.url);

/** Revives {"$hex": "..."} as a Buffer. */
function revive(_key: string, value: unknown): unknown {
  if (value !== null && typeof value === 'object' && '$hex' in value) {
    return Buffer.from(String((value as { $hex: string }).$hex), 'hex');
  }
  return value;
}

/** Every block with the given fence tag: its first line as JSON, its second as bytes. */
function readBlocks(tag: string): { json: unknown; bytes: Buffer; line: number }[] {
  const lines = readFileSync(DOC, 'utf8').split('\n');
  const blocks: { json: unknown; bytes: Buffer; line: number }[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]?.trim() !== `\`\`\`${tag}`) continue;
    const json = lines[i + 1] ?? '';
    const hex = (lines[i + 2] ?? '').replace(/\s+/g, '');
    if (lines[i + 3]?.trim() !== '```') throw new Error(`${tag} at line ${i + 1} is not two lines long`);
    if (!/^([0-9a-f]{2})+$/.test(hex)) throw new Error(`${tag} at line ${i + 1} has bad hex`);
    blocks.push({ json: JSON.parse(json, revive), bytes: Buffer.from(hex, 'hex'), line: i + 1 });
  }
  return blocks;
}

export function readVectors(): Vector[] {
  return readBlocks('vector').map(({ json, bytes, line }) => ({ message: json as Message, bytes, line }));
}

export function readErrorVectors(): ErrorVector[] {
  return readBlocks('vector-error').map(({ json, bytes, line }) => {
    const code = (json as { error?: unknown } | null)?.error;
    if (typeof code !== 'string') throw new Error(`vector-error at line ${line} has no {"error": CODE}`);
    return { code: code as NatterErrorCode, bytes, line };
  });
}
