/**
 * bench/codec: encoding + decoding TEXT frames of 100 B and 4 KiB, against a
 * baseline measured in the same run: JSON.stringify + newline framing of the
 * same content, decoded by splitting on newlines and JSON.parse.
 *
 * Both sides do the same work per round: encode N messages, cut the byte
 * stream into 64 KiB chunks (as a socket delivers it), decode every message.
 */
import { encodeMessage } from '../src/protocol/codec.ts';
import { FrameDecoder } from '../src/protocol/decoder.ts';
import { fmt, median, table, timeRounds } from './harness.ts';
import { FIXED_ID, textMsg } from '../test/helpers/messages.ts';

const CHUNK = 65_536;
const ROUNDS = 7;

function chunks(stream: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < stream.length; i += CHUNK) out.push(stream.subarray(i, i + CHUNK));
  return out;
}

function natterRound(text: string, n: number): number {
  const frames: Buffer[] = new Array(n);
  for (let i = 0; i < n; i++) frames[i] = encodeMessage(textMsg(text));
  const stream = Buffer.concat(frames);
  const decoder = new FrameDecoder();
  let got = 0;
  for (const chunk of chunks(stream)) {
    decoder.push(chunk);
    for (let m = decoder.next(); m !== undefined; m = decoder.next()) got++;
  }
  if (got !== n) throw new Error(`natter decoded ${got} of ${n}`);
  return stream.length;
}

function jsonRound(text: string, n: number): number {
  const lines: Buffer[] = new Array(n);
  // The same content as JSON would carry it: the id as 32 hex digits.
  for (let i = 0; i < n; i++) lines[i] = Buffer.from(`${JSON.stringify({ ...textMsg(text), id: FIXED_ID.toString('hex') })}\n`, 'utf8');
  const stream = Buffer.concat(lines);
  let rest = '';
  let got = 0;
  for (const chunk of chunks(stream)) {
    // A chunk may end inside a UTF-8 sequence: decode bytes up to the last newline only.
    const lastNewline = chunk.lastIndexOf(10);
    if (lastNewline < 0) {
      rest += chunk.toString('latin1');
      continue;
    }
    const text = Buffer.concat([Buffer.from(rest, 'latin1'), chunk.subarray(0, lastNewline)]).toString('utf8');
    rest = chunk.subarray(lastNewline + 1).toString('latin1');
    for (const line of text.split('\n')) {
      JSON.parse(line);
      got++;
    }
  }
  if (got !== n) throw new Error(`baseline decoded ${got} of ${n}`);
  return stream.length;
}

export interface CodecResult {
  size: string;
  natterFps: number;
  baselineFps: number;
  natterMBps: number;
  baselineMBps: number;
  ratio: number;
}

export function runCodecBench(): CodecResult[] {
  const cases: [string, string, number][] = [
    ['100 B', `${'a'.repeat(90)}héllo ✓`, 200_000],
    ['4 KiB', `${'b'.repeat(4080)}héllo ✓…`, 10_000],
  ];
  const results: CodecResult[] = [];
  for (const [size, text, n] of cases) {
    let natterBytes = 0;
    let baselineBytes = 0;
    // Interleave the two so that machine noise hits both alike.
    const natter: number[] = [];
    const baseline: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      natter.push(...timeRounds(() => (natterBytes = natterRound(text, n)), 1));
      baseline.push(...timeRounds(() => (baselineBytes = jsonRound(text, n)), 1));
    }
    const natterSec = median(natter);
    const baselineSec = median(baseline);
    results.push({
      size,
      natterFps: n / natterSec,
      baselineFps: n / baselineSec,
      natterMBps: natterBytes / natterSec / 1e6,
      baselineMBps: baselineBytes / baselineSec / 1e6,
      ratio: baselineSec / natterSec,
    });
  }
  return results;
}

export function printCodec(results: CodecResult[]): void {
  console.log('codec: encode + decode TEXT frames (median of 7 rounds); ratio = natter speed / baseline speed');
  console.log(
    table(
      ['size', 'natter frames/s', 'natter MB/s', 'JSON+newline frames/s', 'JSON+newline MB/s', 'ratio'],
      results.map((r) => [
        r.size,
        fmt(r.natterFps),
        fmt(r.natterMBps, 1),
        fmt(r.baselineFps),
        fmt(r.baselineMBps, 1),
        `${fmt(r.ratio, 2)}x`,
      ]),
    ),
  );
}

if (import.meta.main) printCodec(runCodecBench());
