/**
 * One side of bench/handshake, alone in its process:
 *
 *   node bench/handshake-proc.ts listener   listens twice on 127.0.0.1, port 0:
 *                                           encrypted: acceptSecure() then a
 *                                           FramedConnection answering HELLO,
 *                                           as PeerNode accepts a peer;
 *                                           plaintext: a FramedConnection on
 *                                           the accepted socket
 *   node bench/handshake-proc.ts dialer     dial()s one connection after
 *                                           another, with or without a key
 *                                           pair, timing each set-up
 *
 *   dialer                                        listener
 *     │ t0: connect() ─── SYN / SYN-ACK / ACK ──────▶ │
 *     │ ── Noise e ────────────────────────────────▶ │ ┐
 *     │ ◀──────────────────────── e, ee, s, es ──── │ │ encrypted only
 *     │ ── s, se ─────────────────────────────────▶ │ ┘
 *     │ ── HELLO ──────────────────────────────────▶ │
 *     │ ◀──────────────────────────────── HELLO ─── │
 *     │ t1: dial() resolves; then close, untimed
 *
 * Both ends use fixed key pairs (an identity is made once, not per
 * connection); the dialer checks the listener's key as a friends table
 * would. Every connection is closed before the next, and every call has a
 * deadline in here as well as in the parent.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { ERROR_CODES, NatterError } from '../src/errors.ts';
import type { Message } from '../src/protocol/messages.ts';
import { FramedConnection, type FramedConnectionOptions } from '../src/transport/framed-connection.ts';
import { keyPairFromSeed, type KeyPair } from '../src/transport/secure.ts';
import { acceptSecure, dial } from '../src/transport/tcp.ts';
import { serveCalls } from './child.ts';
import type { DialReply, DialRequest, DialerCalls, HandshakeRole, ListenerCalls } from './handshake-ipc.ts';

const HOST = '127.0.0.1';
/** Connections the listener holds at once; the dialer makes one at a time, so more is a leak. */
const MAX_OPEN = 64;
/** The listener's handshake deadline, as PeerNode's default dial timeout. */
const HANDSHAKE_TIMEOUT_MS = 10_000;

const role = process.argv[2] as HandshakeRole;
if (role !== 'listener' && role !== 'dialer') throw new Error('usage: handshake-proc.ts <listener|dialer>');

function benchKeyPair(name: string): KeyPair {
  return keyPairFromSeed(createHash('sha256').update(`natter bench handshake ${name}`).digest());
}

function cpuMicros(): number {
  const cpu = process.cpuUsage();
  return cpu.user + cpu.system;
}

/** Both ends gather each turn's frames into one write, as a PeerNode's chat connections do. */
const CONN_OPTIONS: FramedConnectionOptions = {};

// ---------------------------------------------------------------------------
// Listener

async function listen(onSocket: (socket: Socket) => void): Promise<number> {
  const server: Server = createServer({ noDelay: true }, onSocket);
  server.listen({ port: 0, host: HOST, backlog: 4096 });
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

async function runListener(): Promise<void> {
  const keyPair = benchKeyPair('listener');
  const open = new Set<FramedConnection>();
  let ready = 0;
  let failures = 0;
  let firstFailure = '';
  const fail = (why: string): void => {
    failures++;
    if (firstFailure === '') firstFailure = why;
  };
  const serve = (conn: FramedConnection): void => {
    open.add(conn);
    // The 'exchange' path's one more request.
    conn.on('message', (msg) => {
      if (msg.type === 'PING') conn.send({ type: 'PONG', nonce: msg.nonce });
    });
    conn.once('ready', () => ready++);
    conn.once('failure', (err) => fail(`${err.code}: ${err.message}`));
    conn.once('close', () => open.delete(conn));
  };
  const isFull = (socket: Socket): boolean => {
    if (open.size < MAX_OPEN) return false;
    fail(`more than ${MAX_OPEN} connections open at once`);
    socket.destroy();
    return true;
  };
  const encrypted = await listen((socket) => {
    if (isFull(socket)) return;
    acceptSecure(socket, keyPair, HANDSHAKE_TIMEOUT_MS).then(
      (stream) => serve(new FramedConnection(stream, { ...CONN_OPTIONS, hello: 'answer' })),
      (err: NatterError) => fail(`handshake ${err.code}: ${err.message}`),
    );
  });
  const plaintext = await listen((socket) => {
    if (isFull(socket)) return;
    serve(new FramedConnection(socket, { ...CONN_OPTIONS, hello: 'answer' }));
  });
  serveCalls<ListenerCalls>({
    // 'exchange' is plaintext with one more request: the same listener.
    ports: async () => ({ encrypted, plaintext, exchange: plaintext, publicKey: keyPair.publicKey }),
    usage: async () => {
      if (failures > 0) throw new Error(`${failures} connections failed on the listener, first: ${firstFailure}`);
      return { cpuMicros: cpuMicros(), ready };
    },
  });
}

// ---------------------------------------------------------------------------
// Dialer

async function dialMany(req: DialRequest, keyPair: KeyPair): Promise<DialReply> {
  const expected = Buffer.from(req.publicKey);
  const verifyKey = (key: Buffer): void => {
    if (!key.equals(expected)) throw new NatterError(ERROR_CODES.KEY_MISMATCH, 'the listener proved another key');
  };
  const secure = req.mode === 'encrypted' ? { keyPair, verifyKey } : {};
  const deadline = performance.now() + req.timeoutMs;
  const setupMicros: number[] = [];
  const startCpu = cpuMicros();
  // Bounded by count; each dial by connectTimeoutMs, each close by the connection's close deadline.
  for (let i = 0; i < req.count; i++) {
    if (performance.now() > deadline) throw new Error(`${i} of ${req.count} ${req.mode} connections within ${req.timeoutMs} ms`);
    const t0 = process.hrtime.bigint();
    const conn = await dial({ host: HOST, port: req.port, timeoutMs: req.connectTimeoutMs, ...CONN_OPTIONS, ...secure });
    // 'exchange' is timed until its PONG is in: a set-up with one more request and answer.
    if (req.mode === 'exchange') await pingPong(conn, i);
    setupMicros.push(Number(process.hrtime.bigint() - t0) / 1_000);
    // Graceful: done once the listener has closed its side too, so its work is over before the next connect.
    await conn.close();
    if (conn.failure !== undefined) throw new Error(`${req.mode} connection ${i}: ${conn.failure.code}: ${conn.failure.message}`);
  }
  return { setupMicros, cpuMicros: cpuMicros() - startCpu };
}

/** One PING answered by its PONG (no deadline of its own: the block's bounds it, as the listener answers at once). */
function pingPong(conn: FramedConnection, nonce: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onMessage = (msg: Message): void => {
      if (msg.type !== 'PONG' || msg.nonce !== nonce) return;
      conn.off('message', onMessage);
      resolve();
    };
    conn.on('message', onMessage);
    conn.once('close', () => reject(new Error(`the connection closed before PONG ${nonce}`)));
    conn.send({ type: 'PING', nonce });
  });
}

function runDialer(): void {
  const keyPair = benchKeyPair('dialer');
  serveCalls<DialerCalls>({ dial: (req) => dialMany(req, keyPair) });
}

if (role === 'listener') await runListener();
else runDialer();
