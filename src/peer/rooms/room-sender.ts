/**
 * Room items on their way to one connection, at its pace: gathered into
 * RITEMS frames (protocol.md §4.20) of up to ~60 KB, and sent only while the
 * connection has less than 64 KiB queued. A catch-up of thousands of items
 * therefore costs a few dozen frames (a peer reads another at most 1,000
 * frames a second, protocol.md §7) and never trips the output cap.
 */
import type { FramedConnection } from '../../transport/framed-connection.ts';
import { MAX_ROOM_ITEMS } from '../../protocol/codec.ts';

const SEND_HIGH_WATER = 64 * 1024;
/** Item bytes per frame: the frame (65,535 at most) holds them with their 2-byte lengths and its header. */
const FRAME_ITEM_BYTES = 60_000;

interface Outgoing {
  items: Buffer[];
  isScheduled: boolean;
  isWaitingForDrain: boolean;
}

export class RoomSender {
  readonly #queues = new WeakMap<FramedConnection, Outgoing>();

  /** Queues items for `conn`; they leave in this order, from the next turn of the event loop, gathered into frames. */
  send(conn: FramedConnection, items: readonly Buffer[]): void {
    if (items.length === 0 || conn.state !== 'open') return;
    let q = this.#queues.get(conn);
    if (q === undefined) {
      q = { items: [], isScheduled: false, isWaitingForDrain: false };
      this.#queues.set(conn, q);
    }
    for (const item of items) q.items.push(item);
    if (!q.isScheduled && !q.isWaitingForDrain) {
      q.isScheduled = true;
      const queue = q;
      setImmediate(() => {
        queue.isScheduled = false;
        this.#pump(conn, queue);
      });
    }
  }

  /** Items still waiting for `conn`. */
  waiting(conn: FramedConnection): number {
    return this.#queues.get(conn)?.items.length ?? 0;
  }

  #pump(conn: FramedConnection, q: Outgoing): void {
    let at = 0;
    while (at < q.items.length && conn.state === 'open') {
      if (conn.queuedBytes >= SEND_HIGH_WATER) {
        q.isWaitingForDrain = true;
        void conn.drained().then(() => {
          q.isWaitingForDrain = false;
          this.#pump(conn, q);
        });
        break;
      }
      const frame: Buffer[] = [];
      let bytes = 0;
      while (at < q.items.length && frame.length < MAX_ROOM_ITEMS) {
        const item = q.items[at] as Buffer;
        if (frame.length > 0 && bytes + item.length + 2 > FRAME_ITEM_BYTES) break;
        frame.push(item);
        bytes += item.length + 2;
        at++;
      }
      conn.send({ type: 'RITEMS', items: frame });
    }
    q.items = conn.state === 'open' ? q.items.slice(at) : [];
  }
}
