/**
 * The lines of FileMessageStore's files, one JSON object a line:
 *
 *   outbox.jsonl            {"op":"queue","id","peer","ts","text"} | {"op":"done","id"[,"why"]}
 *   received.jsonl          {"peer","id"}
 *   history/<name>.jsonl    {"ts","dir":"in"|"out","id","text","at"}   ("at": when recorded here)
 *
 * and the replay of the outbox and received records into memory, checking
 * each record as the wire would check it and skipping any that is not valid
 * (record-reader.ts reports them).
 */
import { DEFAULT_LIMITS } from '../../protocol/limits.ts';
import { normalizeName } from '../../protocol/fields.ts';
import type { ByteBuilder } from './byte-builder.ts';
import { writeAll } from './file-io.ts';
import { bytesOfId, isMessageId, type MessageId } from './message-id.ts';
import { isStoredMessage, type StoredMessage } from './message-store.ts';
import { Outbox } from './outbox.ts';
import { ReceivedWindow } from './received-window.ts';
import { readRecords, type RecordsRead } from './record-reader.ts';

/**
 * A message as its lines need it: the id as its 32 hex digits or as its 16
 * bytes (a received one, whose hex form is then written straight from them).
 */
export interface LineMessage {
  peer: string;
  id: MessageId | Uint8Array;
  ts: number;
  text: string;
}

/**
 * The texts of a batch written already as JSON, in its queue lines: message
 * i's from spans[2i] to spans[2i + 1] of `from`. The history lines of the
 * same batch copy their texts from there instead of encoding them again.
 */
export interface WrittenTexts {
  from: ByteBuilder;
  spans: number[];
}

const QUOTE = 0x22;

/** `id` (checked: 32 hex digits, or 16 bytes) between quotes. */
function writeId(out: ByteBuilder, id: MessageId | Uint8Array): void {
  out.byte(QUOTE);
  if (typeof id === 'string') out.ascii(id);
  else out.hex(id);
  out.byte(QUOTE);
}

// Each line below is, byte for byte, JSON.stringify of its record and a newline
// (test/peer/store/records.test.ts holds them to it), written straight into bytes.

/** Appends the outbox line that queues `m`; with `texts` (from `out`), notes where its text went as message `i`. */
export function writeQueueLine(out: ByteBuilder, m: StoredMessage, texts?: WrittenTexts, i = 0): void {
  out.ascii('{"op":"queue","id":');
  writeId(out, m.id);
  out.ascii(',"peer":');
  out.json(m.peer);
  out.ascii(',"ts":');
  out.number(m.ts);
  out.ascii(',"text":');
  const start = out.length;
  out.json(m.text);
  if (texts !== undefined) {
    texts.spans[2 * i] = start;
    texts.spans[2 * i + 1] = out.length;
  }
  out.ascii('}\n');
}

/** Appends the outbox lines that take `ids` out: delivered, or dropped with `why`. */
export function writeDoneLines(out: ByteBuilder, ids: readonly MessageId[], why: string | undefined): void {
  for (const id of ids) {
    out.ascii('{"op":"done","id":');
    writeId(out, id);
    if (why !== undefined) {
      out.ascii(',"why":');
      out.json(why);
    }
    out.ascii('}\n');
  }
}

/** Appends the line of received.jsonl that remembers `id` from `peer`. */
export function writeReceivedLine(out: ByteBuilder, peer: string, id: MessageId | Uint8Array): void {
  out.ascii('{"peer":');
  out.json(peer);
  out.ascii(',"id":');
  writeId(out, id);
  out.ascii('}\n');
}

/**
 * Appends the line of a history log that records `m`, sent ('out') or
 * received ('in'), at `at` (now); with `texts`, its text is copied from
 * where it was written as message `i`.
 */
export function writeHistoryLine(out: ByteBuilder, m: LineMessage, dir: 'in' | 'out', at: number, texts?: WrittenTexts, i = 0): void {
  out.ascii('{"ts":');
  out.number(m.ts);
  out.ascii(dir === 'in' ? ',"dir":"in","id":' : ',"dir":"out","id":');
  writeId(out, m.id);
  out.ascii(',"text":');
  if (texts === undefined) out.json(m.text);
  else out.copyFrom(texts.from, texts.spans[2 * i] as number, texts.spans[2 * i + 1] as number);
  out.ascii(',"at":');
  out.number(at);
  out.ascii('}\n');
}

/** Longest line replayed from outbox.jsonl or received.jsonl; natter's own are far shorter (a text is at most 64 KiB, even \u-escaped). */
export const MAX_RECORD_LINE_BYTES = 1 << 20;

/**
 * Why an outbox record cannot be a message to send (undefined when it can):
 * every field checked as the wire will check it, so a damaged record is
 * refused here, at start-up, not by the encoder when its peer comes online.
 */
function outboxRecordFault(r: { id?: unknown; peer?: unknown; ts?: unknown; text?: unknown }, maxTextBytes: number): string | undefined {
  if (!isStoredMessage(r)) return 'not a message: it needs an id of 32 hex digits, a peer, a time and a text';
  if (!Number.isSafeInteger(r.ts) || r.ts < 0) return `a time out of range (${String(r.ts)})`;
  try {
    if (normalizeName(r.peer, DEFAULT_LIMITS.maxNameBytes) !== r.peer)
      return `a peer name that is not as natter writes it (${JSON.stringify(r.peer)})`;
  } catch (err) {
    return `a peer name that cannot be used (${(err as Error).message})`;
  }
  const bytes = Buffer.byteLength(r.text, 'utf8');
  if (bytes > maxTextBytes) return `a text of ${bytes.toLocaleString('en-US')} bytes (the most is ${maxTextBytes.toLocaleString('en-US')})`;
  return undefined;
}

/** Replays outbox.jsonl: queued minus done, in queue order; damaged records skipped and reported. */
export function replayOutbox(file: string, maxTextBytes: number): { outbox: Outbox; read: RecordsRead } {
  const outbox = new Outbox();
  const read = readRecords(file, MAX_RECORD_LINE_BYTES, (rec) => {
    const r = rec as { op?: unknown; id?: unknown } | null;
    if (typeof r !== 'object' || r === null) return 'not a record';
    if (r.op === 'queue') {
      const fault = outboxRecordFault(r, maxTextBytes);
      if (fault === undefined) outbox.add(r as StoredMessage);
      return fault;
    }
    if (r.op === 'done' && isMessageId(r.id)) {
      outbox.remove(r.id);
      return undefined;
    }
    return 'neither a queued message nor a delivered one';
  });
  return { outbox, read };
}

/** Replays received.jsonl: the last `window` ids from each peer; damaged records skipped and reported. */
export function replayReceived(file: string, window: number): { received: ReceivedWindow; read: RecordsRead } {
  const received = new ReceivedWindow(window);
  const read = readRecords(file, MAX_RECORD_LINE_BYTES, (rec) => {
    const r = rec as { peer?: unknown; id?: unknown } | null;
    if (typeof r !== 'object' || r === null || typeof r.peer !== 'string' || !isMessageId(r.id))
      return 'not a received id: it needs a peer and an id of 32 hex digits';
    received.add(r.peer, bytesOfId(r.id));
    return undefined;
  });
  return { received, read };
}

/**
 * Bytes gathered at a time when a whole file is written afresh: a file of
 * many MiB goes out through one small buffer, not one of its own size.
 */
const REWRITE_CHUNK_BYTES = 256 * 1024;

/** Writes a file afresh to `fd`: a line for each of `items`, put into `out` by `line`, `out` holding a chunk at a time. */
function writeFresh<T>(fd: number, out: ByteBuilder, items: Iterable<T>, line: (out: ByteBuilder, item: T) => void): void {
  out.reset();
  for (const item of items) {
    line(out, item);
    if (out.length >= REWRITE_CHUNK_BYTES) {
      writeAll(fd, out.bytes(), null);
      out.reset();
    }
  }
  writeAll(fd, out.bytes(), null);
  out.reset();
}

/** Writes outbox.jsonl afresh to `fd`: a queue line for each pending message, oldest first. */
export function writeOutboxFile(fd: number, outbox: Outbox, out: ByteBuilder): void {
  writeFresh(fd, out, outbox.values(), writeQueueLine);
}

/** Writes received.jsonl afresh to `fd`: a line for each id remembered, each peer's oldest first. */
export function writeReceivedFile(fd: number, received: ReceivedWindow, out: ByteBuilder): void {
  writeFresh(fd, out, receivedIds(received), (o, [peer, id]) => writeReceivedLine(o, peer, id));
}

function* receivedIds(received: ReceivedWindow): Generator<[string, Buffer]> {
  for (const [peer, ids] of received.entries()) for (const id of ids) yield [peer, id];
}
