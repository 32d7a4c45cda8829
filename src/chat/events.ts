/**
 * The UI-neutral events of a chat: what every front end (the line UI, the
 * full-screen UI, the JSON mode, a bot) is told. Their shapes are the JSON
 * mode's (docs/chat.md, "Scripting").
 */
import type { DoctorReport } from '../discovery/doctor.ts';
import type { PeerSource } from '../discovery/discovery.ts';
import type { KeyReport } from '../peer/key-book.ts';
import type { LinkKind } from '../peer/links/connector.ts';
import type { PeerNode } from '../peer/peer-node.ts';
import type { HistoryEntry } from '../peer/store/message-store.ts';

/** The peer listens and is registered: the first event, always. */
export interface ReadyEvent {
  type: 'ready';
  name: string;
  ip: string;
  port: number;
  /** How peers are found, in words: "directory HOST:PORT", "friends table FILE", ... */
  via: string;
}

export type ChatEvent =
  | ReadyEvent
  | {
      type: 'who';
      /**
       * `rooms`: the names of our rooms the peer is a member of, and then
       * `reachable`: whether a connection to it is open now (what room messages travel on).
       */
      peers: {
        name: string;
        ip: string;
        port: number;
        source: PeerSource;
        fingerprint?: string;
        connected?: boolean;
        link?: LinkKind;
        rooms?: string[];
        reachable?: boolean;
      }[];
      /** Members of our rooms that no way of finding peers lists now (offline, as a directory sees it), each with the rooms and `reachable`. */
      members?: { name: string; rooms: string[]; reachable: boolean }[];
    }
  | {
      type: 'whois';
      name: string;
      status: KeyReport['status'];
      fingerprint?: string;
      since?: string;
      published?: string;
      offered?: string;
      link?: LinkKind;
    }
  | { type: 'trusted'; name: string; fingerprint: string; previous?: string }
  | { type: 'request'; from: string }
  | { type: 'connected'; with: string; link: LinkKind }
  | { type: 'moved'; with: string; link: LinkKind }
  | { type: 'declined'; by: string; reason: string }
  | { type: 'message'; from: string; text: string; id: string; ts: number }
  | { type: 'queued'; to: string; id: string; ts: number; text: string; recovered?: true }
  | { type: 'sent'; to: string; id: string }
  | { type: 'delivered'; to: string; id: string }
  | RoomEvent
  | { type: 'waiting'; to: string; count: number; code: string; reason: string; unknown?: true }
  | { type: 'outbox'; waiting: { to: string; count: number; oldest: number }[] }
  | { type: 'dropped'; to: string; count: number }
  | { type: 'kept'; to: string; count: number }
  | { type: 'history'; with: string; entries: HistoryEntry[] }
  | { type: 'ended'; with: string; reason: string }
  | { type: 'shutdown' }
  | { type: 'notice'; message: string }
  /**
   * Whether the directory (or the local default's) has us registered now: at
   * start, then on each change. A notice says the same in words; the JSON mode
   * writes the notices only, so its events stay as documented.
   */
  | { type: 'directory'; address: string; isReachable: boolean }
  | ({ type: 'dump' } & ReturnType<PeerNode['dump']>)
  | ({ type: 'doctor' } & DoctorReport)
  | { type: 'error'; code: string; message: string };

/**
 * What rooms tell (docs/chat.md, "Rooms"). `room` is always the room's id;
 * `name` its name. A room message we sent is `queued` once it is in the room
 * store, and `delivered` once per member that holds it.
 */
export type RoomEvent =
  | { type: 'room-joined'; room: string; name: string; members: string[] }
  | { type: 'room-invite'; room: string; name: string; from: string }
  | { type: 'room-message'; room: string; name: string; from: string; text: string; id: string; ts: number; late?: true }
  | {
      type: 'room-members';
      room: string;
      name: string;
      members: string[];
      admins: string[];
      online: string[];
      status: 'member' | 'invited' | 'out';
    }
  | { type: 'room-left'; room: string; name: string; reason: 'left' | 'removed' }
  | { type: 'room-history'; room: string; name: string; entries: { from: string; text: string; id: string; ts: number }[] }
  | { type: 'room-list'; rooms: { room: string; name: string; status: 'member' | 'invited'; members: number }[] }
  | { type: 'queued'; room: string; name: string; id: string; ts: number; text: string }
  | { type: 'delivered'; room: string; name: string; to: string; id: string; members: number };

/** One kind of event, by its type: `ChatEventOf<'message'>`. */
export type ChatEventOf<T extends ChatEvent['type']> = Extract<ChatEvent, { type: T }>;
