/**
 * What bench/soak and its child processes share: the calls each child
 * answers over the IPC channel (bench/child.ts) and what they report.
 *
 *   bench/soak.ts (orchestrator: the schedule, the samples, the verdict)
 *     ├── bench/directory-server-proc.ts   the directory, short alive interval
 *     ├── bench/soak-load-proc.ts × 2      registered clients heartbeating,
 *     │                                    joining and leaving; slow readers
 *     └── bench/soak-peer-proc.ts × 2      PeerNodes, one side of every chat each
 *
 * The channel uses Node's 'advanced' serialization (bigints and Buffers cross it as they are).
 */
import type { GcKind, Measurement } from './directory-ipc.ts';

// ---------------------------------------------------------------------------
// Directory clients (bench/soak-load-proc.ts)

export interface LoadStart {
  /** The directory's port on 127.0.0.1. */
  port: number;
  /**
   * This process's clients take global indices first, first + 1, ... (their
   * names and source addresses), joiners included; its slow readers first +
   * 90,000 on. Processes' `first` are 100,000 apart.
   */
  first: number;
  /** Clients registered at once, kept at this count as some leave and others join. */
  clients: number;
  /** Clients that leave (DOWN, close) and are replaced by new ones (a new key, a new name), per minute. */
  churnPerMinute: number;
  /** Clients that ask WHO every second and read their answers only now and then (half of them never). */
  slowReaders: number;
  /** How long the start may take (every client's handshake and UP). */
  timeoutMs: number;
}

export interface LoadCounts {
  /** Clients registered now. */
  registered: number;
  /** Registrations (first ones and after a NACK), over the run. */
  registrations: number;
  /** Clients that left on purpose, and new ones that joined. */
  left: number;
  joined: number;
  /** Registered clients whose connection was lost (they reconnect by themselves): should stay 0. */
  lost: number;
  /** The first reason a connection was lost, if any. */
  firstLoss: string;
  /** Slow readers: WHO answers they got, and how often their connection closed (the directory cutting one that does not read). */
  whoAnswers: number;
  slowReadersCut: number;
  /** Slow readers' requests that failed otherwise (not answered in time, refused). */
  slowReaderFailures: number;
}

export type LoadCalls = {
  start: { request: LoadStart; reply: LoadCounts };
  counts: { request: Record<string, never>; reply: LoadCounts };
  /** Stops churning and closes every client. */
  stop: { request: Record<string, never>; reply: LoadCounts };
};

// ---------------------------------------------------------------------------
// Chat peers (bench/soak-peer-proc.ts)

/** Which side of every chat a peer process holds: A dials, B accepts. */
export type PeerSide = 'a' | 'b';

export interface PeerAddress {
  name: string;
  port: number;
  key: Uint8Array;
}

export interface ChatPlan {
  /** How long to keep talking. */
  durationMs: number;
  /** While talking, messages per second each way (per chat). */
  ratePerSecond: number;
  /** Each chat talks for a while, then goes quiet for longer than the idle timeout (its connection closes) and starts again. */
  talkMs: number;
  quietMs: number;
  /** Every this many ms, some chats are ended (END) and opened again. */
  reopenEveryMs: number;
  /** Every this many ms, some nodes stop reading (a UI that cannot keep up) for pauseMs. */
  pauseEveryMs: number;
  pauseMs: number;
  /** After durationMs, how long to wait for every receipt. */
  drainTimeoutMs: number;
}

/** Per chat, what one side sent and what it got. */
export interface ChatTally {
  /** The other side's name. */
  peer: string;
  /** Messages this side sent, numbered 1..sent. */
  sent: number;
  /** Receipts for them: each id once. */
  delivered: number;
  /** Receipts that came twice for one id. */
  deliveredTwice: number;
  /** Messages from the other side shown here: how many, how many of them again, and out of order. */
  received: number;
  duplicates: number;
  outOfOrder: number;
  /** The highest number received (the other side's `sent`, when nothing was lost). */
  highest: number;
}

export interface PeerReport {
  chats: ChatTally[];
  /** 'problem' events, by code. */
  problems: Record<string, number>;
  /** Chats that ended without being asked to (lost connections), and connections opened. */
  lostChats: number;
  /** Why those chats ended, with the peers' names left out: how many for each reason (at most 10 reasons). */
  lostReasons: Record<string, number>;
  reopened: number;
  connectionsDialed: number;
  connectionsAccepted: number;
}

export type PeerCalls = {
  /** Starts `count` nodes listening on 127.0.0.1; returns where. */
  start: { request: { side: PeerSide; count: number; idleTimeoutMs: number }; reply: { peers: PeerAddress[] } };
  /** The other side's nodes, in chat order: node i chats with partners[i]. A opens every chat and waits until all are open. */
  meet: { request: { partners: PeerAddress[]; timeoutMs: number }; reply: Record<string, never> };
  /** Talks by the plan, then waits for every receipt (or drainTimeoutMs). */
  talk: { request: ChatPlan; reply: PeerReport };
  report: { request: Record<string, never>; reply: PeerReport };
  /** The process's memory; `connections` open, `online` chats open, and the messages shown so far. */
  measure: { request: { gc: GcKind }; reply: Measurement & { shown: number } };
  stop: { request: Record<string, never>; reply: Record<string, never> };
};
