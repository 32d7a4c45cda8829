/** What src/peer/rooms tells its owner and asks of it: the shapes of rooms, their events, the options. */
import type { Scheduler } from '../../clock.ts';
import type { NatterError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { FramedConnection } from '../../transport/framed-connection.ts';
import type { KeyPair } from '../../transport/secure.ts';
import type { RoomStore } from '../store/room-store.ts';
import type { ItemLimits } from './room-item.ts';

export type RoomStatus = 'member' | 'invited' | 'out';

export interface RoomView {
  id: string;
  name: string;
  status: RoomStatus;
  /** `isReachable`: a chat with it is open now (always true for us). */
  members: { name: string; key: string; isAdmin: boolean; isReachable: boolean }[];
}

export interface RoomMessage {
  id: string;
  from: string;
  text: string;
  ts: number;
}

export interface RoomsEvents {
  /** We created or joined a room. */
  joined: [room: RoomView];
  /** Someone invited us; answer with join() or decline(). */
  invite: [room: RoomView, from: string];
  /** A room message from another member, recorded and shown once; `isLate` when it sorts before one shown already. */
  message: [room: RoomView, message: RoomMessage, info: { isLate: boolean }];
  /** The member list changed. */
  members: [room: RoomView];
  /** We are out of the room: we left, or an admin removed us. */
  left: [room: RoomView, reason: 'left' | 'removed'];
  /** A message we wrote is in the room store, on its way to every member. */
  queued: [room: RoomView, message: RoomMessage];
  /** `to` holds our message. */
  delivered: [room: RoomView, to: string, id: string];
  /** Something the user should hear about: refused room traffic, a store that failed. */
  problem: [err: NatterError, peer: string | undefined];
}

export interface RoomsOptions {
  /** Our display name: our label in rooms we create. */
  name: string;
  keyPair: KeyPair;
  store: RoomStore;
  /** Most members (with invitations) in a room we invite to; never above 32. */
  maxRoomMembers: number;
  limits: ItemLimits;
  /** Items whose clock is further ahead of ours than this are refused for now. */
  maxClockAheadMs: number;
  retryIntervalMs: number;
  maxRetryIntervalMs: number;
  scheduler: Scheduler;
  logger: Logger;
  /** The wall clock, ms since 1970 (Lamport clocks start from it). */
  now?: () => number;
  /** The connection to `peer` on which a chat is open, if any. */
  link(peer: string): FramedConnection | undefined;
  /** Opens a chat (a connection) to `peer`; rejects when it cannot be reached now. */
  reach(peer: string): Promise<void>;
  /** The key the peer called `name` must prove, if one is known. */
  keyOf(name: string): Promise<Buffer | undefined>;
}
