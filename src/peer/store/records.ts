/**
 * The lines of FileMessageStore's files, one JSON object a line:
 *
 *   outbox.jsonl            {"op":"queue","id","peer","ts","text"} | {"op":"done","id"[,"why"]}
 *   received.jsonl          {"peer","id"}
 *   history/<name>.jsonl    {"ts","dir":"in"|"out","id","text","at"}   ("at": when recorded here)
 *
 * and the replay of the outbox and received records into memory, skipping
 * any record that is not valid.
 */
import { parseLines } from './file-io.ts';
import { bytesOfId, hexOfId, isMessageId, type MessageId } from './message-id.ts';
import { isStoredMessage, type HistoryEntry, type StoredMessage } from './message-store.ts';
import { Outbox } from './outbox.ts';
import { ReceivedWindow } from './received-window.ts';

/** The outbox line that queues `m`. */
export function queueLine(m: StoredMessage): string {
  return `${JSON.stringify({ op: 'queue', id: m.id, peer: m.peer, ts: m.ts, text: m.text })}\n`;
}

/** The outbox lines that take `ids` out: delivered, or dropped with `why`. */
export function doneLines(ids: readonly MessageId[], why: string | undefined): string {
  return ids.map((id) => `${JSON.stringify(why === undefined ? { op: 'done', id } : { op: 'done', id, why })}\n`).join('');
}

/** The line of received.jsonl that remembers `id` from `peer`. */
export function receivedLine(peer: string, id: MessageId): string {
  return `${JSON.stringify({ peer, id })}\n`;
}

/** The line of a history log that holds `e`. */
export function historyLine(e: HistoryEntry): string {
  return `${JSON.stringify({ ts: e.ts, dir: e.dir, id: e.id, text: e.text, ...(e.at === undefined ? {} : { at: e.at }) })}\n`;
}

/** Replays outbox.jsonl: queued minus done, in queue order; bad records skipped. */
export function replayOutbox(text: string): Outbox {
  const outbox = new Outbox();
  for (const rec of parseLines(text)) {
    const r = rec as { op?: unknown; id?: unknown } | null;
    if (typeof r !== 'object' || r === null) continue;
    if (r.op === 'queue' && isStoredMessage(r)) outbox.add(r);
    else if (r.op === 'done' && isMessageId(r.id)) outbox.remove(r.id);
  }
  return outbox;
}

/** Replays received.jsonl: the last `window` ids from each peer; bad records skipped. */
export function replayReceived(text: string, window: number): ReceivedWindow {
  const received = new ReceivedWindow(window);
  for (const rec of parseLines(text)) {
    const r = rec as { peer?: unknown; id?: unknown } | null;
    if (typeof r === 'object' && r !== null && typeof r.peer === 'string' && isMessageId(r.id)) received.add(r.peer, bytesOfId(r.id));
  }
  return received;
}

/** outbox.jsonl written afresh: a queue line for each pending message, oldest first. */
export function outboxText(outbox: Outbox): string {
  let text = '';
  for (const m of outbox.values()) text += queueLine(m);
  return text;
}

/** received.jsonl written afresh: a line for each id remembered, each peer's oldest first. */
export function receivedText(received: ReceivedWindow): string {
  let text = '';
  for (const [peer, ids] of received.entries()) for (const id of ids) text += receivedLine(peer, hexOfId(id));
  return text;
}
