/**
 * What bench/chat and its two peer processes share: the calls a peer
 * process answers over the IPC channel (bench/child.ts) and the report it
 * sends unasked.
 *
 *   bench/chat.ts (orchestrator)
 *     ├── bench/chat-peer-proc.ts <mode> receiver   listens; counts or echoes
 *     └── bench/chat-peer-proc.ts <mode> sender     dials; sends, times round trips
 *
 * `mode` is one of three paths between the same two processes:
 *
 *   encrypted   two PeerNodes: Noise XX handshake, then encrypted records
 *               (what natter always runs)
 *   plaintext   natter's framing without the encryption: dial() without a
 *               key pair, a FramedConnection on the accepted socket, TEXT
 *               frames sent as PeerNode sends them
 *   baseline    raw node:net sockets with newline framing
 *   durable     two PeerNodes as `natter chat` runs them: each with a
 *               FileMessageStore in a fresh data directory (outbox, received ids,
 *               history on disk), receipts for every message
 *   unacked     the encrypted channel and natter's framing with nothing on
 *               top: dial() with a key pair, a FramedConnection on the
 *               accepted encrypted stream, TEXT frames and no receipts
 *   relayed     two PeerNodes whose chat goes through a directory's relay
 *               (the directory's address in NATTER_BENCH_DIRECTORY)
 *
 * The channel uses Node's 'advanced' serialization so that bigint timestamps
 * cross it as they are.
 */

export type ChatMode = 'encrypted' | 'plaintext' | 'baseline' | 'durable' | 'unacked' | 'relayed';

/** bench/chat's modes, in the order its tables list them. */
export const CHAT_MODES = ['encrypted', 'unacked', 'plaintext', 'baseline'] as const;
/** bench/reach's modes: the same PeerNodes, direct and through the relay. */
export const REACH_MODES = ['encrypted', 'relayed'] as const;
/** bench/delivery's modes (see there). */
export const DELIVERY_MODES = ['durable', 'encrypted', 'unacked'] as const;
export type ChatRole = 'sender' | 'receiver';

/** One request type a peer process answers: what goes in, what comes back. */
export type ChatCalls = {
  /** Receiver: start listening on 127.0.0.1, port 0. */
  listen: { request: Record<string, never>; reply: { port: number } };
  /** Sender: dial the receiver and open the chat (encrypted: CONN / RESP(accept); plaintext: the HELLO exchange). */
  connect: { request: { port: number; timeoutMs: number }; reply: Record<string, never> };
  /**
   * Receiver: count the next `count` messages, then send a CountedReport
   * (unasked, see report in bench/child.ts). Replies once armed.
   */
  arm: { request: { count: number; text: string }; reply: Record<string, never> };
  /** Sender: send `count` messages of `text` as fast as backpressure allows. */
  blast: { request: { count: number; text: string; timeoutMs: number }; reply: BlastReply };
  /** Receiver: from now on, send every message straight back. */
  echo: { request: Record<string, never>; reply: Record<string, never> };
  /** Sender: `rounds` sequential round trips of `text`; each waits for the echo before the next. */
  pingpong: { request: { rounds: number; text: string; timeoutMs: number }; reply: PingpongReply };
  /** CPU µs (user + system) this process has used so far. */
  usage: { request: Record<string, never>; reply: { cpuMicros: number } };
  /** Close everything and exit (cleanly, so that --cpu-prof writes its profile). */
  exit: { request: Record<string, never>; reply: Record<string, never> };
};

export interface BlastReply {
  /** process.hrtime.bigint() just before the first send (CLOCK_MONOTONIC: comparable across processes on Linux). */
  startNs: bigint;
  /** ... and once the last send returned. */
  sentNs: bigint;
  /** PeerNode modes: once the receipt of the last message was in (every message delivered). */
  deliveredNs?: bigint;
  /** CPU µs (user + system) this process used for the loop. */
  cpuMicros: number;
}

export interface PingpongReply {
  /** One per round trip, in µs: send until the echo was received. */
  latenciesMicros: number[];
  /** CPU µs (user + system) this process used for all the round trips. */
  cpuMicros: number;
}

/** The receiver's 'counted' report, once it counted the messages of an `arm`. */
export interface CountedReport {
  /** process.hrtime.bigint() when the last expected message was counted. */
  endNs: bigint;
  received: number;
  /** True when the last message received equals the text sent. */
  isIntact: boolean;
  /** CPU µs (user + system) this process used from `arm` until the count. */
  cpuMicros: number;
}
