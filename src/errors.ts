/**
 * One error class for all of natter, with stable codes (docs/errors.md).
 *
 * Callers branch on `code`, never on `message`: the message is for people and
 * may change; the code is part of the public API and of the wire protocol
 * (an ERROR frame carries it, protocol.md §4.2).
 */

/** Every error code natter can produce. docs/errors.md documents each one. */
export const ERROR_CODES = {
  // Framing and decoding (protocol.md §2, §3)
  FRAME_TOO_LARGE: 'NATTER_ERR_FRAME_TOO_LARGE',
  UNKNOWN_TYPE: 'NATTER_ERR_UNKNOWN_TYPE',
  TRUNCATED: 'NATTER_ERR_TRUNCATED',
  MALFORMED: 'NATTER_ERR_MALFORMED',
  TEXT_TOO_LONG: 'NATTER_ERR_TEXT_TOO_LONG',
  INVALID_NAME: 'NATTER_ERR_INVALID_NAME',
  BUFFER_LIMIT: 'NATTER_ERR_BUFFER_LIMIT',
  TOO_MANY_PARTS: 'NATTER_ERR_TOO_MANY_PARTS',
  BAD_MAGIC: 'NATTER_ERR_BAD_MAGIC',
  VERSION_MISMATCH: 'NATTER_ERR_VERSION_MISMATCH',
  INVALID_ARGUMENT: 'NATTER_ERR_INVALID_ARGUMENT',
  // Connections (transport/)
  UNEXPECTED_MESSAGE: 'NATTER_ERR_UNEXPECTED_MESSAGE',
  OUTPUT_QUEUE_FULL: 'NATTER_ERR_OUTPUT_QUEUE_FULL',
  CONNECTION_CLOSED: 'NATTER_ERR_CONNECTION_CLOSED',
  TIMEOUT: 'NATTER_ERR_TIMEOUT',
  LISTEN_FAILED: 'NATTER_ERR_LISTEN_FAILED',
  REMOTE_ERROR: 'NATTER_ERR_REMOTE_ERROR',
  INTERNAL: 'NATTER_ERR_INTERNAL',
  INVALID_IDENTITY: 'NATTER_ERR_INVALID_IDENTITY',
  NO_IDENTITY: 'NATTER_ERR_NO_IDENTITY',
  HANDSHAKE_FAILED: 'NATTER_ERR_HANDSHAKE_FAILED',
  KEY_MISMATCH: 'NATTER_ERR_KEY_MISMATCH',
  // The directory (src/directory)
  NAME_TAKEN: 'NATTER_ERR_NAME_TAKEN',
  ALREADY_REGISTERED: 'NATTER_ERR_ALREADY_REGISTERED',
  NOT_REGISTERED: 'NATTER_ERR_NOT_REGISTERED',
  PORTS_EXHAUSTED: 'NATTER_ERR_PORTS_EXHAUSTED',
  NOT_AUTHORIZED: 'NATTER_ERR_NOT_AUTHORIZED',
  SERVER_FULL: 'NATTER_ERR_SERVER_FULL',
  TOO_MANY_CONNECTIONS: 'NATTER_ERR_TOO_MANY_CONNECTIONS',
  RATE_LIMITED: 'NATTER_ERR_RATE_LIMITED',
  REGISTER_TIMEOUT: 'NATTER_ERR_REGISTER_TIMEOUT',
  RELAY_REFUSED: 'NATTER_ERR_RELAY_REFUSED',
  SHUTTING_DOWN: 'NATTER_ERR_SHUTTING_DOWN',
  STORE_UNAVAILABLE: 'NATTER_ERR_STORE_UNAVAILABLE',
  DIRECTORY_KEY_CONFLICT: 'NATTER_ERR_DIRECTORY_KEY_CONFLICT',
  // The peer (src/peer)
  UNKNOWN_PEER: 'NATTER_ERR_UNKNOWN_PEER',
  PEER_UNREACHABLE: 'NATTER_ERR_PEER_UNREACHABLE',
  TOO_MANY_CHATS: 'NATTER_ERR_TOO_MANY_CHATS',
  NO_SUCH_REQUEST: 'NATTER_ERR_NO_SUCH_REQUEST',
  NO_SUCH_CHAT: 'NATTER_ERR_NO_SUCH_CHAT',
  OUTBOX_FULL: 'NATTER_ERR_OUTBOX_FULL',
  NOT_DELIVERED: 'NATTER_ERR_NOT_DELIVERED',
  DIRECTORY_UNAVAILABLE: 'NATTER_ERR_DIRECTORY_UNAVAILABLE',
  NO_NEW_KEY: 'NATTER_ERR_NO_NEW_KEY',
  DATA_DIR_LOCKED: 'NATTER_ERR_DATA_DIR_LOCKED',
  STORAGE_FAILED: 'NATTER_ERR_STORAGE_FAILED',
  // Rooms (src/peer/rooms)
  BAD_SIGNATURE: 'NATTER_ERR_BAD_SIGNATURE',
  NO_SUCH_ROOM: 'NATTER_ERR_NO_SUCH_ROOM',
  NOT_A_MEMBER: 'NATTER_ERR_NOT_A_MEMBER',
  NOT_ALLOWED: 'NATTER_ERR_NOT_ALLOWED',
  ROOM_FULL: 'NATTER_ERR_ROOM_FULL',
  CLOCK_AHEAD: 'NATTER_ERR_CLOCK_AHEAD',
  // The chat command line (src/cli)
  MESSAGE_TOO_LONG: 'NATTER_ERR_MESSAGE_TOO_LONG',
  UNKNOWN_COMMAND: 'NATTER_ERR_UNKNOWN_COMMAND',
  BAD_COMMAND: 'NATTER_ERR_BAD_COMMAND',
} as const;

export type NatterErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(ERROR_CODES));

/** True when `code` is one natter defines (used to vet codes read off the wire). */
export function isNatterErrorCode(code: string): code is NatterErrorCode {
  return KNOWN_CODES.has(code);
}

/** The only error type natter's library throws or emits. */
export class NatterError extends Error {
  /** Stable, machine-readable code; see docs/errors.md. */
  readonly code: NatterErrorCode;

  constructor(code: NatterErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NatterError';
    this.code = code;
  }
}

/**
 * The NatterError for an ERROR frame from the other side: its own code when
 * this build knows it, NATTER_ERR_REMOTE_ERROR (naming the code) otherwise.
 */
export function errorFromWire(code: string, reason: string): NatterError {
  return isNatterErrorCode(code) ? new NatterError(code, reason) : new NatterError(ERROR_CODES.REMOTE_ERROR, `${code}: ${reason}`);
}

/** True for any NatterError, optionally with the given code. */
export function isNatterError(err: unknown, code?: NatterErrorCode): err is NatterError {
  return err instanceof NatterError && (code === undefined || err.code === code);
}
