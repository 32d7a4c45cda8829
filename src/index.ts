/**
 * natter's public library surface: everything the CLI, the tests and other
 * programs (bots, scripts, other front ends) use. Nothing else is exported.
 */
export {
  ERROR_CODES,
  NatterError,
  errorFromWire,
  isNatterError,
  isNatterErrorCode,
  type NatterErrorCode,
} from './errors.ts';
export { MONOTONIC_CLOCK, ManualClock, type Clock } from './clock.ts';
export { SILENT_LOGGER, type Logger } from './log.ts';
export { DEFAULT_DIRECTORY_PORT } from './defaults.ts';
export { VERSION } from './version.ts';

// protocol/
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

// transport/
export {
  FramedConnection,
  DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_MAX_QUEUE_BYTES,
  type ConnectionState,
  type FramedConnectionEvents,
  type FramedConnectionOptions,
  type HelloRole,
} from './transport/framed-connection.ts';
export { acceptSecure, dial, DEFAULT_DIAL_TIMEOUT_MS, type DialOptions } from './transport/tcp.ts';
export {
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  MAX_RECORD_BYTES,
  MAX_RECORD_PLAINTEXT,
  RecordGuard,
  SecureStream,
  keyPairFromSeed,
  secureSocket,
  type KeyPair,
  type SecureOptions,
} from './transport/secure.ts';
export type { ByteStream } from './transport/byte-stream.ts';
export {
  createIdentity,
  defaultIdentityFile,
  fingerprint,
  loadIdentity,
  loadIdentityFor,
  loadOrCreateIdentity,
  type Identity,
} from './transport/identity.ts';

// directory/
export { DirectoryServer, type DirectoryEvents, type DirectoryState } from './directory/server.ts';
export { hostDirectory } from './directory/host.ts';
export { DIRECTORY_DEFAULTS, resolveDirectoryOptions, type DirectoryOptions } from './directory/options.ts';
export { MemoryDirectoryStore } from './directory/store/memory-store.ts';
export {
  DEFAULT_PORT_RANGE,
  type DirectoryStore,
  type PeerRecord,
  type PortRange,
  type RegisterRequest,
  type RegisterResult,
} from './directory/store/store.ts';
export { RedisStore, REDIS_STORE_DEFAULTS, type RedisStoreOptions } from './directory/store/redis-store.ts';

// discovery/
export { SOURCE_AUTHORITY, type Discovery, type KeyAuthority, type PeerInfo, type PeerSource } from './discovery/discovery.ts';
export { FriendsTable } from './discovery/friends-table.ts';
export {
  LanDiscovery,
  DEFAULT_LAN_TIMINGS,
  type LanDiscoveryEvents,
  type LanDiscoveryOptions,
  type LanState,
  type LanTimings,
} from './discovery/lan.ts';
export { DEFAULT_LAN_LIMITS, SERVICE_TYPE, type LanLimits } from './discovery/lan-records.ts';
export { MergedDiscovery, type DiscoverySource, type SourcedPeerInfo } from './discovery/merged.ts';
export { DirectoryClient, type DirectoryClientOptions, type Registration } from './discovery/directory-client.ts';
export { DirectoryLink, DEFAULT_BACKOFF, type Backoff, type DirectoryLinkOptions } from './discovery/directory-link.ts';
export { LocalRendezvous, type HostDirectory, type HostedDirectory, type LocalRendezvousOptions } from './discovery/local-rendezvous.ts';

// peer/
export { KeyBook, type KeyReport } from './peer/key-book.ts';
export { KnownPeers, type Pin } from './peer/known-peers.ts';
export { PeerNode, type ChatState, type EndReason, type PeerNodeEvents, type PeerNodeOptions } from './peer/peer-node.ts';
export { FileMessageStore, type FileMessageStoreOptions } from './peer/store/file-message-store.ts';
export { MemoryMessageStore } from './peer/store/memory-message-store.ts';
export type { MessageId } from './peer/store/message-id.ts';
export type { HistoryEntry, MessageStore, StoredMessage } from './peer/store/message-store.ts';
export { FileRoomStore, MemoryRoomStore, type RoomStore } from './peer/store/room-store.ts';
export { Rooms, type RoomMessage, type RoomStatus, type RoomView, type RoomsEvents } from './peer/rooms/rooms.ts';
export { ROOM_MEMBER_CAP } from './peer/rooms/room-log.ts';

// chat/: the peer as `natter chat` runs it, for any front end
export { startChat, type ChatOptions, type FindPeers, type HostPort } from './chat/start-chat.ts';
export { ChatSession, type ChatParts } from './chat/chat-session.ts';
export type { ChatEvent, ChatEventOf, ReadyEvent, RoomEvent } from './chat/events.ts';
export { runChatUi, type ChatCommands, type ChatEventSource, type ChatUi, type RoomCommand } from './chat/ui.ts';
export { directoryPinning } from './chat/directory-pinning.ts';
