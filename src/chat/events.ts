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
  | { type: 'who'; peers: { name: string; ip: string; port: number; source: PeerSource; fingerprint?: string; connected?: boolean; link?: LinkKind }[] }
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

/** One kind of event, by its type: `ChatEventOf<'message'>`. */
export type ChatEventOf<T extends ChatEvent['type']> = Extract<ChatEvent, { type: T }>;
