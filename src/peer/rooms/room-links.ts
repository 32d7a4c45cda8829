/**
 * What each connection between members carries of the rooms: the items sent
 * on it (so an item goes once per connection, however many receipts ask
 * for it), and the short wait before asking another member for what it
 * holds (protocol.md §7.2, "Catch-up"). Keyed by connection: a new one
 * starts afresh, and a closed one is forgotten with it.
 */
import type { Scheduler } from '../../clock.ts';
import type { RhaveMessage } from '../../protocol/messages.ts';
import type { FramedConnection } from '../../transport/framed-connection.ts';
import type { RoomItem } from './room-item.ts';
import { RoomSender } from './room-sender.ts';

/** How long a member that learnt another holds more waits before asking for it: what is on its way arrives meanwhile. */
export const ASK_DELAY_MS = 50;

export class RoomLinks {
  readonly #scheduler: Scheduler;
  readonly #sender = new RoomSender();
  /** Per connection, room and author: the highest seq sent on it. */
  readonly #sent = new WeakMap<FramedConnection, Map<string, Map<string, number>>>();
  /** Per connection: the rooms it will be told what we hold of, shortly. */
  readonly #asking = new WeakMap<FramedConnection, Set<string>>();

  constructor(scheduler: Scheduler) {
    this.#scheduler = scheduler;
  }

  /** Sends items of `room` on `conn` (gathered into frames, at its pace), marking them sent there. */
  send(conn: FramedConnection, room: string, items: readonly RoomItem[]): void {
    if (items.length === 0) return;
    const sent = this.sentOn(conn, room);
    for (const item of items) sent.set(item.authorHex, Math.max(sent.get(item.authorHex) ?? 0, item.seq));
    this.#sender.send(
      conn,
      items.map((i) => i.bytes),
    );
  }

  /** Per author, the highest seq of `room` sent on `conn`. */
  sentOn(conn: FramedConnection, room: string): Map<string, number> {
    let rooms = this.#sent.get(conn);
    if (rooms === undefined) {
      rooms = new Map();
      this.#sent.set(conn, rooms);
    }
    let sent = rooms.get(room);
    if (sent === undefined) {
      sent = new Map();
      rooms.set(room, sent);
    }
    return sent;
  }

  /** Sends `have()` on `conn` after ASK_DELAY_MS, once however often asked meanwhile; nothing when it gives undefined. */
  askLater(conn: FramedConnection, room: string, have: () => RhaveMessage | undefined): void {
    let asking = this.#asking.get(conn);
    if (asking === undefined) {
      asking = new Set();
      this.#asking.set(conn, asking);
    }
    if (asking.has(room)) return;
    asking.add(room);
    const set = asking;
    this.#scheduler.setTimeout(() => {
      set.delete(room);
      const msg = conn.state === 'open' ? have() : undefined;
      if (msg !== undefined) conn.send(msg);
    }, ASK_DELAY_MS);
  }
}
