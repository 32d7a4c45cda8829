/**
 * Which members hold our room messages of this run: a member's RHAVE says
 * up to which of our seqs it holds everything, so each message is delivered
 * to a member once, when the first RHAVE that covers it comes. A receipt
 * costs what it acknowledges: each member's cursor only moves forward.
 */
interface Pending {
  /** Our first seq in the room this run: receipts below it are for earlier runs. */
  firstSeq: number;
  /** By seq: the message's id and the members that do not hold it yet. */
  messages: Map<number, { id: string; waiting: Set<string> }>;
  /** Per member, the seq up to which its receipts were counted. */
  cursors: Map<string, number>;
}

export class RoomReceipts {
  readonly #rooms = new Map<string, Pending>();

  /** Our message `id` with `seq` in `room` is on its way to `members`. */
  expect(room: string, seq: number, id: string, members: Iterable<string>): void {
    let pending = this.#rooms.get(room);
    if (pending === undefined) {
      pending = { firstSeq: seq, messages: new Map(), cursors: new Map() };
      this.#rooms.set(room, pending);
    }
    pending.messages.set(seq, { id, waiting: new Set(members) });
  }

  /** `member` holds our items of `room` up to `seq`: the ids of our messages it had not held before, in order. */
  held(room: string, member: string, seq: number): string[] {
    const pending = this.#rooms.get(room);
    if (pending === undefined || pending.messages.size === 0) return [];
    const from = Math.max(pending.cursors.get(member) ?? 0, pending.firstSeq - 1);
    if (seq <= from) return [];
    pending.cursors.set(member, seq);
    const ids: string[] = [];
    for (let s = from + 1; s <= seq; s++) {
      const message = pending.messages.get(s);
      if (message === undefined || !message.waiting.delete(member)) continue;
      ids.push(message.id);
      if (message.waiting.size === 0) pending.messages.delete(s);
    }
    return ids;
  }
}
