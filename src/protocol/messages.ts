/**
 * The messages of the natter wire protocol (docs/protocol.md §4).
 *
 * Each message is a plain object tagged by `type`. Type codes are grouped:
 * 0x0_ session, 0x1_ directory, 0x2_ between peers, 0x3_ relaying, 0x4_
 * more directory requests (0x1_ is full).
 */

/** Protocol version spoken by this build; HELLO carries it (protocol.md §4.1). */
export const PROTOCOL_VERSION = 4;

/** The four bytes that open every HELLO payload: ASCII "NATR". */
export const HELLO_MAGIC = Buffer.from('NATR', 'ascii');

/** Wire type code of each message. */
export const MESSAGE_TYPES = {
  HELLO: 0x01,
  ERROR: 0x02,
  UP: 0x10,
  ACK: 0x11,
  NACK: 0x12,
  DOWN: 0x13,
  WHO: 0x14,
  HDR: 0x15,
  PEER: 0x16,
  ALIVE: 0x17,
  SHUTDOWN: 0x18,
  DUMP: 0x19,
  STATE: 0x1a,
  PROBE: 0x1b,
  PROBED: 0x1c,
  PUNCH: 0x1d,
  MEET: 0x1e,
  CALL: 0x1f,
  CONN: 0x20,
  RESP: 0x21,
  TEXT: 0x22,
  END: 0x23,
  PING: 0x24,
  PONG: 0x25,
  RCPT: 0x26,
  RITEMS: 0x27,
  RHAVE: 0x28,
  RELAY: 0x30,
  JOINED: 0x31,
  FIND: 0x40,
} as const;

export type MessageName = keyof typeof MESSAGE_TYPES;

const NAME_BY_CODE = new Map<number, MessageName>(
  (Object.entries(MESSAGE_TYPES) as [MessageName, number][]).map(([name, code]) => [code, name]),
);

/** The message name for a wire type code, or undefined when the code is unknown. */
export function messageNameOf(code: number): MessageName | undefined {
  return NAME_BY_CODE.get(code);
}

/**
 * An IP address as text: dotted IPv4 or RFC 5952 IPv6. The empty string means
 * "unspecified" (in UP: "the address you see me at", protocol.md §4.3).
 */
export type Ip = string;

/** Opens every connection: who we are and which protocol version we speak. */
export interface HelloMessage {
  type: 'HELLO';
  version: number;
}
/** A refusal or failure with a stable code (docs/errors.md) and a reason for people. */
export interface ErrorMessage {
  type: 'ERROR';
  code: string;
  reason: string;
}
/** Register with the directory; `port` 0 asks the directory to choose. */
export interface UpMessage {
  type: 'UP';
  name: string;
  ip: Ip;
  port: number;
}
/**
 * Directory's answer to UP and ALIVE: the assigned port, how often to send
 * ALIVE, and where the directory sees this connection come from (behind a
 * NAT: the public address and port the NAT maps it to).
 */
export interface AckMessage {
  type: 'ACK';
  port: number;
  aliveIntervalMs: number;
  seenIp: Ip;
  seenPort: number;
}
/** Directory's answer to ALIVE from an unknown client: register again with UP. */
export interface NackMessage {
  type: 'NACK';
  reason: string;
}
/** Leave the directory. */
export interface DownMessage {
  type: 'DOWN';
}
/** Ask the directory who is online. */
export interface WhoMessage {
  type: 'WHO';
}
/** Count of PEER records that follow, answering WHO. */
export interface HdrMessage {
  type: 'HDR';
  count: number;
}
/** One online peer, with the Ed25519 public key (32 bytes) it registered with. */
export interface PeerMessage {
  type: 'PEER';
  name: string;
  ip: Ip;
  port: number;
  key: Buffer;
}
/** Heartbeat to the directory. */
export interface AliveMessage {
  type: 'ALIVE';
}
/**
 * Stop the chat system: from an administrator to the directory, then from the
 * directory to its clients. Authority comes from the key that opened the
 * encrypted connection (protocol.md §6.5), so the message carries nothing.
 */
export interface ShutdownMessage {
  type: 'SHUTDOWN';
}
/** Ask the directory for its internal state (administrators only, by key). */
export interface DumpMessage {
  type: 'DUMP';
}
/** One piece of the JSON answer to DUMP; `more` says further pieces follow. */
export interface StateMessage {
  type: 'STATE';
  more: boolean;
  data: Buffer;
}
/** Ask the directory to dial back this connection's address at `port` (is our listener reachable from outside?). */
export interface ProbeMessage {
  type: 'PROBE';
  port: number;
}
/**
 * Answer to PROBE: whether the dial-back got through (and why not), whether
 * this directory relays, and where it sees this connection come from.
 */
export interface ProbedMessage {
  type: 'PROBED';
  isReachable: boolean;
  isRelaying: boolean;
  seenIp: Ip;
  seenPort: number;
  detail: string;
}
/** Ask the directory to set up hole punching to the peer `name`. */
export interface PunchMessage {
  type: 'PUNCH';
  name: string;
}
/** Answer to PUNCH: dial `name` at `ip`:`port` now, from this connection's own local port (it does the same). */
export interface MeetMessage {
  type: 'MEET';
  name: string;
  ip: Ip;
  port: number;
}
/**
 * From the directory, unasked: `name` wants to reach us. `via` 'punch': dial
 * `ip`:`port` now, from this connection's local port; 'relay': open a relay
 * connection to the directory and send RELAY(name) (`ip` and `port` empty).
 */
export interface CallMessage {
  type: 'CALL';
  via: 'punch' | 'relay';
  name: string;
  ip: Ip;
  port: number;
}
/** Where is `name`? Answered like WHO, with HDR(0) or HDR(1) and its PEER (protocol.md §4.19). */
export interface FindMessage {
  type: 'FIND';
  name: string;
}
/** First request on a new directory connection: join it to the peer `name`'s own RELAY connection. */
export interface RelayMessage {
  type: 'RELAY';
  name: string;
}
/**
 * Answer to RELAY: both asked; from here on the connection carries the other
 * peer's bytes, end to end. `isFirst`: this side asked first, so it is the
 * one that dials over the joined stream (Noise initiator, CONN); the side
 * that joined accepts.
 */
export interface JoinedMessage {
  type: 'JOINED';
  isFirst: boolean;
}
/** Ask a peer to chat: who we are and where we listen. */
export interface ConnMessage {
  type: 'CONN';
  name: string;
  ip: Ip;
  port: number;
}
/** Answer to CONN. */
export interface RespMessage {
  type: 'RESP';
  accept: boolean;
  reason: string;
}
/**
 * One chat message. `id` is the 16 random bytes that name it for its receipt
 * and for dropping duplicates, as on the wire (decoded: a view of the bytes
 * received; copy it to keep it); `ts` is when the sender's user entered it,
 * in ms since the Unix epoch (protocol.md §4.12).
 */
export interface TextMessage {
  type: 'TEXT';
  id: Uint8Array;
  ts: number;
  text: string;
}
/** Close the chat. */
export interface EndMessage {
  type: 'END';
}
/** The receiver has recorded the TEXT with this id, its 16 bytes (protocol.md §4.14). */
export interface RcptMessage {
  type: 'RCPT';
  id: Uint8Array;
}
/**
 * Signed items of rooms (protocol.md §4.20): membership records and
 * messages, each as its author wrote and signed it. The frame only counts
 * and bounds them; src/peer/rooms reads and checks each one.
 */
export interface RitemsMessage {
  type: 'RITEMS';
  items: Buffer[];
}
/**
 * What the sender holds of one room (protocol.md §4.21): for each author,
 * the seq up to which it has every item. `isAsking`: send me what I lack
 * (when a connection between two members opens, or a gap shows); otherwise
 * it is the receipt for items taken in, answered only with the receiver's
 * own items the sender lacks.
 */
export interface RhaveMessage {
  type: 'RHAVE';
  room: string;
  isAsking: boolean;
  have: { key: Buffer; seq: number }[];
}
/** Peer keepalive probe. */
export interface PingMessage {
  type: 'PING';
  nonce: number;
}
/** Answer to PING with the same nonce. */
export interface PongMessage {
  type: 'PONG';
  nonce: number;
}

export type Message =
  | HelloMessage
  | ErrorMessage
  | UpMessage
  | AckMessage
  | ProbeMessage
  | ProbedMessage
  | PunchMessage
  | FindMessage
  | MeetMessage
  | CallMessage
  | RelayMessage
  | JoinedMessage
  | NackMessage
  | DownMessage
  | WhoMessage
  | HdrMessage
  | PeerMessage
  | AliveMessage
  | ShutdownMessage
  | DumpMessage
  | StateMessage
  | ConnMessage
  | RespMessage
  | TextMessage
  | RcptMessage
  | RitemsMessage
  | RhaveMessage
  | EndMessage
  | PingMessage
  | PongMessage;

/** The message type with the given name. */
export type MessageOf<N extends MessageName> = Extract<Message, { type: N }>;
