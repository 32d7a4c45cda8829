/**
 * natter's public library surface: everything the CLI, the tests and other
 * programs (bots, scripts) use. Nothing else is exported.
 */
export { ERROR_CODES, NatterError, isNatterError, isNatterErrorCode, type NatterErrorCode } from './errors.ts';
export { encodeMessage, decodePayload } from './protocol/codec.ts';
export { FrameDecoder } from './protocol/decoder.ts';
export { canonicalIp, normalizeName } from './protocol/fields.ts';
export { DEFAULT_LIMITS, HEADER_BYTES, resolveLimits, type ProtocolLimits } from './protocol/limits.ts';
export {
  HELLO_MAGIC,
  MESSAGE_TYPES,
  PROTOCOL_VERSION,
  messageNameOf,
  type Message,
  type MessageName,
  type MessageOf,
  type Ip,
} from './protocol/messages.ts';
export {
  FramedConnection,
  DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_MAX_QUEUE_BYTES,
  type ConnectionState,
  type FramedConnectionEvents,
  type FramedConnectionOptions,
} from './transport/framed-connection.ts';
export { dial, DEFAULT_DIAL_TIMEOUT_MS, type DialOptions } from './transport/tcp.ts';
export { VERSION } from './version.ts';
