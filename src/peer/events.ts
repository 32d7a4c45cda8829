/** What a PeerNode tells its owner (a UI, a bot, a test), and the shapes those events carry. */
import type { NatterError } from '../errors.ts';
import type { LinkKind } from './links/connector.ts';
import type { MessageId } from './store/message-id.ts';

export type ChatState = 'outgoing' | 'incoming' | 'open';

/** Why a chat ended; 'unanswered': a request nobody answered was declined at its deadline. */
export type EndReason = 'local' | 'remote' | 'lost' | 'unanswered';

/** A message in the outbox. */
export interface OutMessage {
  id: MessageId;
  ts: number;
  text: string;
  /** It went out at least once (its receipt may have been lost with a connection). */
  wasSent?: boolean;
}

export interface PeerNodeEvents {
  /** Someone asks to chat; answer with accept() or decline(). */
  request: [from: string];
  /** A chat is open, over a connection that took the given path (direct, punched through NATs, or relayed). */
  connected: [peer: string, info: { link: LinkKind }];
  /** An open chat moved to a connection on another path (a relayed one upgraded to direct, say). */
  moved: [peer: string, info: { link: LinkKind }];
  /** Our request was declined; reason "busy" when the peer has too many chats. */
  declined: [by: string, reason: string];
  /** A chat message, recorded in the store and shown once: a resent copy is dropped by its id. */
  message: [from: string, text: string, meta: { id: MessageId; ts: number }];
  /** A message the user entered is in the outbox; `isRecovered` for one left there by an earlier run. */
  queued: [to: string, message: OutMessage, isRecovered: boolean];
  /** A message went out on a connection (it may be sent again if that connection is lost before its receipt). */
  sent: [to: string, id: MessageId];
  /** The receiver recorded the message. */
  delivered: [to: string, id: MessageId];
  /**
   * Messages to `peer` wait: it cannot be reached now (`reason`); they leave
   * when it can. `isNeverSeen` when no source (the directory, the friends
   * table, a pinned key) has ever known the name: perhaps a typo, for drop().
   */
  waiting: [peer: string, count: number, reason: NatterError, info: { isNeverSeen: boolean }];
  /**
   * stop() waits up to `graceMs` for messages on their way: `count` to each
   * peer, sent and awaiting their receipts, or waiting for a chat being opened.
   */
  stopping: [waitingFor: { peer: string; count: number }[], graceMs: number];
  /** stop() left undelivered messages in a durable outbox; they leave next time. */
  kept: [peer: string, count: number];
  /** A chat ended; `detail` says more for "lost". */
  ended: [peer: string, reason: EndReason, detail: string];
  /**
   * Something went wrong that the user should hear about (an offline peer,
   * undelivered texts, a key refused, an ERROR from another peer), and the
   * node goes on. Not 'error': a Node emitter throws an 'error' nobody
   * listens for, and nothing another peer sends may bring the node down.
   * Nothing that happens after start() is fatal to a node, so it emits no
   * 'error' at all.
   */
  problem: [err: NatterError, peer: string | undefined];
}
