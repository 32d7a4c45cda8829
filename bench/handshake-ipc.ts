/**
 * What bench/handshake and its two processes share: the calls each answers
 * over the IPC channel (bench/child.ts).
 *
 *   bench/handshake.ts (orchestrator)
 *     ├── bench/handshake-proc.ts listener   two listeners: encrypted, plaintext
 *     └── bench/handshake-proc.ts dialer     sequential connections, each timed
 *
 * `mode` is 'encrypted' (TCP connect, the Noise XX handshake, then the HELLO
 * exchange inside it), 'plaintext' (TCP connect and the HELLO exchange) or
 * 'exchange' (plaintext, then one more request and its answer, PING and PONG,
 * before the close: what one more exchange costs, which the handshake's own
 * messages add to an encrypted set-up).
 */

export type HandshakeMode = 'encrypted' | 'plaintext' | 'exchange';
export type HandshakeRole = 'listener' | 'dialer';

export type ListenerCalls = {
  /** Where the two listeners are, and the key the encrypted one proves. */
  ports: { request: Record<string, never>; reply: { encrypted: number; plaintext: number; exchange: number; publicKey: Uint8Array } };
  /** CPU µs (user + system) this process has used so far, and the connections it has completed the HELLO exchange on. */
  usage: { request: Record<string, never>; reply: { cpuMicros: number; ready: number } };
};

export interface DialRequest {
  mode: HandshakeMode;
  port: number;
  /** Connections to make, one after another. */
  count: number;
  /** encrypted: the key the listener must prove (as a friends table would give it). */
  publicKey: Uint8Array;
  /** Deadline for each connection's set-up. */
  connectTimeoutMs: number;
  /** Deadline for the whole call, inside the dialer. */
  timeoutMs: number;
}

export interface DialReply {
  /** One per connection, µs: from connect() until the listener's HELLO was in ('exchange': until its PONG was). */
  setupMicros: number[];
  /** CPU µs (user + system) this process used for the connections, closing included. */
  cpuMicros: number;
}

export type DialerCalls = {
  dial: { request: DialRequest; reply: DialReply };
};
