/** Feeds a byte stream to a decoder in the given pieces and collects every message. */
import { FrameDecoder } from '../../src/protocol/decoder.ts';
import type { ProtocolLimits } from '../../src/protocol/limits.ts';
import type { Message } from '../../src/protocol/messages.ts';

export function decodeAll(pieces: Buffer[], limits: Partial<ProtocolLimits> = {}): Message[] {
  const decoder = new FrameDecoder(limits);
  const out: Message[] = [];
  for (const piece of pieces) {
    decoder.push(piece);
    for (let msg = decoder.next(); msg !== undefined; msg = decoder.next()) out.push(msg);
  }
  decoder.end();
  return out;
}

/** Cuts `bytes` at the given offsets (any order, duplicates allowed). */
export function cutAt(bytes: Buffer, offsets: number[]): Buffer[] {
  const points = [...new Set(offsets.map((o) => Math.max(0, Math.min(bytes.length, o))))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let start = 0;
  for (const p of points) {
    pieces.push(bytes.subarray(start, p));
    start = p;
  }
  pieces.push(bytes.subarray(start));
  return pieces;
}

export function byteByByte(bytes: Buffer): Buffer[] {
  return [...bytes].map((b) => Buffer.from([b]));
}
