/**
 * Rooms as this peer's events and answers show them: our place in each
 * room, its members by the names they are reached at, a message's sender.
 * The view events carry is made once per change of a room's member list, so
 * a message costs no walk over the members.
 */
import type { FramedConnection } from '../../transport/framed-connection.ts';
import type { RoomItem } from './room-item.ts';
import type { RoomLog } from './room-log.ts';
import type { RoomMessage, RoomStatus, RoomView } from './room-types.ts';

export class RoomViews {
  readonly #me: string;
  readonly #name: string;
  readonly #link: (peer: string) => FramedConnection | undefined;
  readonly #views = new Map<string, RoomView>();

  /** `me`: our key as hex; `name`: our display name; `link`: the open chat's connection to a peer, if any. */
  constructor(me: string, name: string, link: (peer: string) => FramedConnection | undefined) {
    this.#me = me;
    this.#name = name;
    this.#link = link;
  }

  statusIn(log: RoomLog): RoomStatus {
    if (log.member(this.#me) !== undefined) return 'member';
    return log.invitation(this.#me) !== undefined ? 'invited' : 'out';
  }

  /** The room as events carry it (its `isReachable` marks as they were when its member list last changed). */
  viewOf(log: RoomLog): RoomView {
    let view = this.#views.get(log.id);
    if (view === undefined) {
      view = this.view(log);
      this.#views.set(log.id, view);
    }
    return view;
  }

  /** The member list of `room` changed: its view is made again. */
  changed(room: string): void {
    this.#views.delete(room);
  }

  /** The room as it is now: for answers to the user. */
  view(log: RoomLog): RoomView {
    return {
      id: log.id,
      name: log.name ?? '?',
      status: this.statusIn(log),
      members: log.members().map((m) => ({
        name: m.hex === this.#me ? this.#name : m.label,
        key: m.hex,
        isAdmin: m.isAdmin,
        isReachable: m.hex === this.#me || this.#link(m.label)?.remoteKey?.equals(m.key) === true,
      })),
    };
  }

  /** A message item as the UIs show it: its sender by name (a removed member's too). */
  message(log: RoomLog, item: RoomItem): RoomMessage {
    const from = item.authorHex === this.#me ? this.#name : (log.labelOf(item.authorHex) ?? item.authorHex.slice(0, 16));
    return { id: item.id, from, text: (item.body as { text: string }).text, ts: item.clock };
  }
}
