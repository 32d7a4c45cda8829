/**
 * Reads the hex test vectors embedded in docs/protocol.md: fenced blocks
 * tagged `vector`, whose first line is the message as JSON and whose second
 * line is the frame in hex (spaces allowed between fields).
 */
import { readFileSync } from 'node:fs';
import type { Message } from '../../src/protocol/messages.ts';

export interface Vector {
  message: Message;
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

export function readVectors(): Vector[] {
  const lines = readFileSync(DOC, 'utf8').split('\n');
  const vectors: Vector[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]?.trim() !== '```vector') continue;
    const json = lines[i + 1] ?? '';
    const hex = (lines[i + 2] ?? '').replace(/\s+/g, '');
    if (lines[i + 3]?.trim() !== '```') throw new Error(`vector at line ${i + 1} is not two lines long`);
    if (!/^([0-9a-f]{2})+$/.test(hex)) throw new Error(`vector at line ${i + 1} has bad hex`);
    vectors.push({ message: JSON.parse(json, revive) as Message, bytes: Buffer.from(hex, 'hex'), line: i + 1 });
  }
  return vectors;
}
