/**
 * Directory conformance: raw bytes, built by hand from docs/protocol.md, sent
 * to a directory started from a command. Point it at any implementation:
 *
 *   NATTER_DIRECTORY_CMD='my-directory --port 0' npm test
 *
 * The command must print a line containing `listening on HOST:PORT`, serve the
 * protocol there, and stop on SIGTERM. The suite appends
 *
 *   --identity FILE      the directory's own key: JSON {version: 1, type: "ed25519", publicKey: HEX, seed: HEX}
 *   --admin-keys FILE    public keys (64 hex digits, one a line) allowed to send SHUTDOWN and DUMP
 *
 * and, for the SHUTDOWN case, starts a second directory with --identity alone,
 * whose own key is then its only admin key.
 *
 * Every connection runs the Noise XX handshake first (protocol.md §1), each
 * test wire with a key pair of its own; the frames inside are built by hand,
 * not with natter's codec, so the suite checks the implementation against the
 * document. Only the handshake and the encrypted records come from the library.
 * Expiry is checked when the directory's alive interval (read from its ACK) is
 * at most 2 s; the handshake deadline only when NATTER_DIRECTORY_HANDSHAKE_MS
 * says what it is (natter has no flag to shorten its 10 s default).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import type { ByteStream } from '../../src/transport/byte-stream.ts';
import { after, before, describe, it } from 'node:test';
import { keyPairFromSeed, secureSocket, type KeyPair } from '../../src/transport/secure.ts';
import { BIN, childEnv } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const COMMAND = process.env.NATTER_DIRECTORY_CMD ?? `"${process.execPath}" "${BIN}" directory --port 0 --alive-interval 1 --log-level warn`;
const HANDSHAKE_DEADLINE_MS = Number(process.env.NATTER_DIRECTORY_HANDSHAKE_MS ?? 0);

// ---- frames by hand (protocol.md §2-§4) ------------------------------------

function frame(type: number, payload: number[] | Buffer = []): Buffer {
  const body = Buffer.from(payload);
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.length, 0);
  head[4] = type;
  return Buffer.concat([head, body]);
}
const str8 = (s: string) => [Buffer.byteLength(s), ...Buffer.from(s)];
const hello = (version: number) => frame(0x01, [0x4e, 0x41, 0x54, 0x52, version >> 8, version & 0xff]);
const HELLO = hello(4);
const UP = (name: string, port = 0) => frame(0x10, [...str8(name), 0x00, port >> 8, port & 0xff]);
const DOWN = frame(0x13);
const WHO = frame(0x14);
const ALIVE = frame(0x17);
const SHUTDOWN = frame(0x18);
const DUMP = frame(0x19);

interface Frame {
  type: number;
  payload: Buffer;
}

/** A key pair of its own for each wire: the handshake proves it to the directory. */
function newKeyPair(): KeyPair {
  return keyPairFromSeed(randomBytes(32));
}

/**
 * A connection after the handshake: hand-built frames go into its plaintext
 * side, and incoming plaintext is cut into frames (header only; payloads are
 * read per test).
 */
class Wire {
  readonly stream: ByteStream;
  readonly keyPair: KeyPair;
  /** The key the directory proved in the handshake. */
  readonly remoteKey: Buffer;
  #buf = Buffer.alloc(0);
  #frames: Frame[] = [];
  #wake: (() => void) | undefined;
  #isClosed = false;
  readonly #closed: Promise<void>;

  constructor(stream: ByteStream, keyPair: KeyPair, remoteKey: Buffer) {
    this.stream = stream;
    this.keyPair = keyPair;
    this.remoteKey = remoteKey;
    stream.on('data', (chunk: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, chunk]);
      while (this.#buf.length >= 5 && this.#buf.length >= 5 + this.#buf.readUInt32BE(0)) {
        const len = this.#buf.readUInt32BE(0);
        this.#frames.push({ type: this.#buf[4] as number, payload: this.#buf.subarray(5, 5 + len) });
        this.#buf = this.#buf.subarray(5 + len);
      }
      this.#wake?.();
    });
    stream.on('error', () => {});
    this.#closed = new Promise((resolve) => {
      const onGone = (): void => {
        this.#isClosed = true;
        this.#wake?.();
        resolve();
      };
      // The directory ending its side is the close this suite checks for; end ours too, as a TCP socket would.
      stream.on('end', () => {
        onGone();
        stream.end();
      });
      stream.on('close', onGone);
    });
  }

  get publicKey(): Buffer {
    return this.keyPair.publicKey;
  }

  send(...frames: Buffer[]): void {
    this.stream.write(Buffer.concat(frames));
  }

  async next(timeoutMs = 3000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = this.#frames.shift();
      if (f !== undefined) return f;
      if (this.#isClosed) throw new Error('connection closed');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  closed(timeoutMs = 3000): Promise<void> {
    return within(this.#closed, timeoutMs, 'still open');
  }
}

/** `promise`, or a rejection saying `what` after timeoutMs; the timer does not outlive it. */
async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

function errorCode(f: Frame): string {
  assert.equal(f.type, 0x02, `expected ERROR (0x02), got type 0x${f.type.toString(16)}`);
  const len = f.payload[0] as number;
  return f.payload.subarray(1, 1 + len).toString('ascii');
}

/** ACK: port u16, interval u32, then the address and port the connection is seen from (protocol.md §4.4). */
function ack(f: Frame): { port: number; intervalMs: number; seenFamily: number; seenPort: number } {
  assert.equal(f.type, 0x11, `expected ACK (0x11), got type 0x${f.type.toString(16)}`);
  const p = f.payload;
  const family = p[6] as number;
  const ipBytes = { 0: 0, 4: 4, 6: 16 }[family];
  assert.ok(ipBytes !== undefined, `ACK seen address family ${family}`);
  assert.equal(p.length, 6 + 1 + ipBytes + 2, 'ACK is port, interval, seen address and seen port, nothing more');
  return { port: p.readUInt16BE(0), intervalMs: p.readUInt32BE(2), seenFamily: family, seenPort: p.readUInt16BE(7 + ipBytes) };
}

interface PeerRecord {
  name: string;
  /** Address family byte: 0, 4 or 6 (protocol.md §3.4). */
  family: number;
  port: number;
  key: Buffer;
}

/** PEER: name (str8), address, port u16, then the registering connection's 32-byte Ed25519 key. */
function peer(f: Frame): PeerRecord {
  assert.equal(f.type, 0x16, `expected PEER (0x16), got type 0x${f.type.toString(16)}`);
  const p = f.payload;
  const nameEnd = 1 + (p[0] as number);
  const name = p.subarray(1, nameEnd).toString('utf8');
  const family = p[nameEnd] as number;
  const ipBytes = { 0: 0, 4: 4, 6: 16 }[family];
  assert.ok(ipBytes !== undefined, `PEER address family ${family}`);
  const portAt = nameEnd + 1 + ipBytes;
  assert.equal(p.length, portAt + 2 + 32, 'PEER is name, address, port and a 32-byte key, nothing more');
  return { name, family, port: p.readUInt16BE(portAt), key: p.subarray(portAt + 2) };
}

/** A DUMP answer: STATE frames (u8 more, then a piece of JSON) up to the one with more = 0. */
async function state(wire: Wire): Promise<Record<string, unknown>> {
  const pieces: Buffer[] = [];
  for (;;) {
    const f = await wire.next();
    assert.equal(f.type, 0x1a, `expected STATE (0x1a), got type 0x${f.type.toString(16)}`);
    const more = f.payload[0];
    assert.ok(more === 0 || more === 1, `STATE more flag ${String(more)}`);
    pieces.push(f.payload.subarray(1));
    if (more === 0) return JSON.parse(Buffer.concat(pieces).toString('utf8')) as Record<string, unknown>;
  }
}

// ---- the directory under test ----------------------------------------------

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

interface Directory {
  child: ChildProcess;
  host: string;
  port: number;
  stop(): Promise<void>;
}

/** Starts COMMAND with `args` appended and waits for its `listening on` line. */
async function startDirectory(args: string[]): Promise<Directory> {
  const command = [COMMAND, ...args.map(quote)].join(' ');
  // Its own process group, so that SIGTERM reaches the directory and not just the shell that started it.
  // childEnv: no coverage variable (a child stopped mid-write leaves a broken coverage file) and a config directory of its own.
  const child = spawn(command, { shell: true, detached: true, stdio: ['ignore', 'pipe', 'inherit'], env: childEnv() });
  let out = '';
  const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening on" line from: ${command}`)), 15_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on \[?([^\]\s]+?)\]?:(\d+)/.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    child.on('exit', () => {
      clearTimeout(timer);
      reject(new Error(`directory exited early: ${out}`));
    });
  });
  return {
    child,
    host: match[1] as string,
    port: Number(match[2]),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      try {
        process.kill(-(child.pid as number), 'SIGTERM');
      } catch {
        // The group is gone already.
      }
      await exited;
    },
  };
}

/** Writes an identity file the way natter keeps one (src/transport/identity.ts), readable by the owner only. */
function writeIdentity(file: string, seed: Buffer): KeyPair {
  const keyPair = keyPairFromSeed(seed);
  const body = { version: 1, type: 'ed25519', publicKey: keyPair.publicKey.toString('hex'), seed: seed.toString('hex') };
  writeFileSync(file, `${JSON.stringify(body)}\n`, { mode: 0o600 });
  return keyPair;
}

const dir = tempDir('conformance');
after(() => rmSync(dir, { recursive: true, force: true }));

const wires: Wire[] = [];
const rawSockets: Socket[] = [];
after(() => {
  for (const w of wires) w.stream.destroy();
  for (const s of rawSockets) s.destroy();
});

/** A TCP connection with nothing on it yet: for handshakes gone wrong. */
async function rawSocket(d: Directory): Promise<Socket> {
  const socket = connect({ host: d.host, port: d.port });
  rawSockets.push(socket);
  await once(socket, 'connect');
  return socket;
}

/** Connects, runs the handshake as `keyPair` (default: a new one), and with `hello` exchanges HELLO. */
async function openOn(d: Directory, options: { hello?: boolean; keyPair?: KeyPair } = {}): Promise<Wire> {
  const keyPair = options.keyPair ?? newKeyPair();
  const secure = await secureSocket(connect({ host: d.host, port: d.port }), true, { keyPair });
  const wire = new Wire(secure, keyPair, secure.remoteKey);
  wires.push(wire);
  if (options.hello ?? true) {
    wire.send(HELLO);
    const first = await wire.next();
    assert.equal(first.type, 0x01);
  }
  return wire;
}

async function who(wire: Wire): Promise<PeerRecord[]> {
  wire.send(WHO);
  const hdr = await wire.next();
  assert.equal(hdr.type, 0x15, 'HDR');
  const records: PeerRecord[] = [];
  for (let i = 0; i < hdr.payload.readUInt32BE(0); i++) records.push(peer(await wire.next()));
  return records;
}

const names = (records: PeerRecord[]) => records.map((r) => r.name);
const entriesFor = (records: PeerRecord[], name: string) => records.filter((r) => r.name === name);

let seq = 0;
const unique = (base: string) => `${base}${process.pid % 1000}x${seq++}`;

describe(`directory conformance (${COMMAND})`, () => {
  let directory: Directory;
  /** The key in the --identity file: what the directory must prove in every handshake. */
  let identity: KeyPair;
  /** The keys in the --admin-keys file. */
  const admins = [newKeyPair(), newKeyPair()];
  const open = (options: { hello?: boolean; keyPair?: KeyPair } = {}) => openOn(directory, options);

  before(async () => {
    const identityFile = join(dir, 'identity.json');
    identity = writeIdentity(identityFile, randomBytes(32));
    const adminKeysFile = join(dir, 'admin-keys');
    writeFileSync(adminKeysFile, admins.map((k) => `${k.publicKey.toString('hex')}\n`).join(''));
    directory = await startDirectory(['--identity', identityFile, '--admin-keys', adminKeysFile]);
  });

  after(() => directory.stop());

  it('proves the key of its --identity file in the handshake', async () => {
    const wire = await open({ hello: false });
    assert.deepEqual(wire.remoteKey, identity.publicKey);
  });

  it('opens with HELLO: magic NATR, version 4', async () => {
    const wire = await open({ hello: false });
    wire.send(HELLO);
    const f = await wire.next();
    assert.equal(f.type, 0x01);
    assert.deepEqual([...f.payload], [0x4e, 0x41, 0x54, 0x52, 0x00, 0x04]);
  });

  it('UP is answered by ACK with a port and a positive alive interval; ALIVE by the same ACK', async () => {
    const wire = await open();
    wire.send(UP(unique('up')));
    const a = ack(await wire.next());
    assert.ok(a.port > 0 && a.intervalMs > 0);
    assert.ok(a.seenFamily === 4 || a.seenFamily === 6, 'a TCP connection is seen from an address');
    assert.ok(a.seenPort > 0, 'and a port');
    wire.send(ALIVE);
    assert.deepEqual(ack(await wire.next()), a);
  });

  it('WHO is answered by HDR(count) and exactly count PEER records, the caller with its port, its address and the key it proved', async () => {
    const wire = await open();
    const name = unique('who');
    wire.send(UP(name));
    const { port } = ack(await wire.next());
    const mine = entriesFor(await who(wire), name);
    assert.equal(mine.length, 1);
    const record = mine[0] as PeerRecord;
    assert.equal(record.port, port);
    assert.notEqual(record.family, 0, 'the address the directory saw, not "unspecified"');
    assert.deepEqual(record.key, wire.publicKey);
  });

  it('a name online under one key is refused to another key with NATTER_ERR_NAME_TAKEN; the same key on a new connection takes it over', async () => {
    const name = unique('taken');
    const owner = await open();
    owner.send(UP(name));
    ack(await owner.next());
    const impostor = await open();
    impostor.send(UP(name));
    assert.equal(errorCode(await impostor.next()), 'NATTER_ERR_NAME_TAKEN');
    // The refusal leaves the connection open, and the entry with its owner's key.
    let mine = entriesFor(await who(owner), name);
    assert.equal(mine.length, 1);
    assert.deepEqual(mine[0]?.key, owner.publicKey);
    impostor.send(UP(unique('honest')));
    ack(await impostor.next());

    // The owner comes back on a new connection (say, after a network change) before the old one is gone.
    const back = await open({ keyPair: owner.keyPair });
    back.send(UP(name));
    ack(await back.next());
    mine = entriesFor(await who(back), name);
    assert.equal(mine.length, 1);
    assert.deepEqual(mine[0]?.key, owner.publicKey);
    // The old connection no longer speaks for the name: its ALIVE gets NACK, its DOWN removes nothing.
    owner.send(ALIVE);
    assert.equal((await owner.next()).type, 0x12, 'NACK');
    owner.send(DOWN);
    assert.equal(entriesFor(await who(back), name).length, 1);
    back.send(ALIVE);
    ack(await back.next());
  });

  it('ports are unique per IP', async () => {
    const ports = new Set<number>();
    for (let i = 0; i < 20; i++) {
      const wire = await open();
      wire.send(UP(unique('port')));
      ports.add(ack(await wire.next()).port);
    }
    assert.equal(ports.size, 20);
  });

  it('DOWN removes the sender', async () => {
    const leaver = await open();
    const name = unique('leaver');
    leaver.send(UP(name));
    ack(await leaver.next());
    leaver.send(DOWN);
    const watcher = await open();
    watcher.send(UP(unique('watcher')));
    ack(await watcher.next());
    assert.ok(!names(await who(watcher)).includes(name));
  });

  it("DOWN and ALIVE from another key's connection leave an entry alone; ALIVE from an unregistered connection gets NACK", async () => {
    const victim = await open();
    const name = unique('victim');
    victim.send(UP(name));
    ack(await victim.next());

    const spoofer = await open();
    spoofer.send(DOWN);
    spoofer.send(ALIVE);
    assert.equal((await spoofer.next()).type, 0x12, 'NACK');
    assert.ok(names(await who(victim)).includes(name));

    // Registered under a name of its own, the spoofer's DOWN takes only that name.
    const own = unique('spoofer');
    spoofer.send(UP(own));
    ack(await spoofer.next());
    spoofer.send(DOWN);
    spoofer.send(ALIVE);
    assert.equal((await spoofer.next()).type, 0x12, 'NACK after its own DOWN');
    const listed = names(await who(victim));
    assert.ok(listed.includes(name), 'the victim is still online');
    assert.ok(!listed.includes(own), 'the spoofer left');
    victim.send(ALIVE);
    ack(await victim.next());
  });

  it('WHO before UP is refused with NATTER_ERR_NOT_REGISTERED; ALIVE before UP gets NACK', async () => {
    const wire = await open();
    wire.send(WHO);
    assert.equal(errorCode(await wire.next()), 'NATTER_ERR_NOT_REGISTERED');
    wire.send(ALIVE);
    assert.equal((await wire.next()).type, 0x12, 'NACK');
  });

  it('a frame before HELLO is refused with NATTER_ERR_UNEXPECTED_MESSAGE', async () => {
    const wire = await open({ hello: false });
    wire.send(WHO);
    assert.equal((await wire.next()).type, 0x01);
    assert.equal(errorCode(await wire.next()), 'NATTER_ERR_UNEXPECTED_MESSAGE');
    await wire.closed();
  });

  for (const [title, bytes, code] of [
    ['an oversized length', Buffer.from([0x7f, 0xff, 0xff, 0xff, 0x22]), 'NATTER_ERR_FRAME_TOO_LARGE'],
    ['an unknown type', frame(0xee), 'NATTER_ERR_UNKNOWN_TYPE'],
    ['a truncated payload', frame(0x11, [0xc3]), 'NATTER_ERR_TRUNCATED'],
    ['a chat message', frame(0x22, [...Array(16).fill(0xab), 0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 0x68, 0x69]), 'NATTER_ERR_UNEXPECTED_MESSAGE'],
    ['a receipt', frame(0x26, Array(16).fill(0xab)), 'NATTER_ERR_UNEXPECTED_MESSAGE'],
    ['invalid UTF-8 in a name', frame(0x10, [2, 0xc3, 0x28, 0, 0, 0]), 'NATTER_ERR_MALFORMED'],
    ['a version 1 DUMP carrying a credential', frame(0x19, [0, 3, 0x61, 0x62, 0x63]), 'NATTER_ERR_MALFORMED'],
  ] as const) {
    it(`${title} gets ${code}, then the connection closes`, async () => {
      const wire = await open();
      wire.send(bytes);
      assert.equal(errorCode(await wire.next()), code);
      await wire.closed();
    });
  }

  for (const version of [1, 2, 3, 9]) {
    it(`protocol version ${version} is refused with NATTER_ERR_VERSION_MISMATCH`, async () => {
      const wire = await open({ hello: false });
      wire.send(hello(version));
      assert.equal((await wire.next()).type, 0x01);
      assert.equal(errorCode(await wire.next()), 'NATTER_ERR_VERSION_MISMATCH');
    });
  }

  it('DUMP from a connection whose key is in --admin-keys is answered with STATE, without UP', async () => {
    for (const keyPair of admins) {
      const wire = await open({ keyPair });
      wire.send(DUMP);
      const s = await state(wire);
      assert.equal(typeof s.online, 'number');
      assert.ok(Array.isArray(s.clients));
    }
  });

  it('SHUTDOWN and DUMP from any other key are refused with NATTER_ERR_NOT_AUTHORIZED, and the directory keeps running', async () => {
    const registered = await open();
    const name = unique('bystander');
    registered.send(UP(name));
    ack(await registered.next());

    const outsider = await open();
    outsider.send(SHUTDOWN);
    assert.equal(errorCode(await outsider.next()), 'NATTER_ERR_NOT_AUTHORIZED');
    outsider.send(DUMP);
    assert.equal(errorCode(await outsider.next()), 'NATTER_ERR_NOT_AUTHORIZED');
    // Even one that registered first.
    const member = await open();
    member.send(UP(unique('member')));
    ack(await member.next());
    member.send(SHUTDOWN);
    assert.equal(errorCode(await member.next()), 'NATTER_ERR_NOT_AUTHORIZED');

    assert.equal(directory.child.exitCode, null);
    registered.send(ALIVE);
    ack(await registered.next());
    assert.ok(names(await who(registered)).includes(name));
    const admin = await open({ keyPair: admins[0] as KeyPair });
    admin.send(DUMP);
    await state(admin);
  });

  for (const [title, bytes] of [
    ['an HTTP request', Buffer.from('GET / HTTP/1.1\r\nHost: natter\r\n\r\n')],
    ['a handshake message of 0xffffff bytes', Buffer.from([0xff, 0xff, 0xff])],
  ] as const) {
    it(`${title} instead of a handshake gets the TCP connection closed, and nothing else changes`, async () => {
      const registered = await open();
      const name = unique('steady');
      registered.send(UP(name));
      ack(await registered.next());

      const socket = await rawSocket(directory);
      let received = 0;
      socket.on('data', (d: Buffer) => (received += d.length));
      socket.on('error', () => {});
      const closed = once(socket, 'close');
      socket.write(bytes);
      // Well before any handshake deadline: the bytes alone give it away.
      await within(closed, 3000, 'still open');
      assert.equal(received, 0, 'no ERROR frame can be sent before a handshake');

      registered.send(ALIVE);
      ack(await registered.next());
      assert.ok(names(await who(registered)).includes(name));
    });
  }

  it('a truncated handshake is closed at the handshake deadline', async (t) => {
    if (!(HANDSHAKE_DEADLINE_MS > 0)) {
      t.skip(
        'natter directory has no flag to shorten its 10 s handshake deadline; set NATTER_DIRECTORY_HANDSHAKE_MS to the deadline to wait for it',
      );
      return;
    }
    const socket = await rawSocket(directory);
    socket.on('error', () => {});
    const closed = once(socket, 'close');
    const startedAt = performance.now();
    // The first handshake message announces 32 bytes and sends 10 of them.
    socket.write(Buffer.concat([Buffer.from([32, 0, 0]), randomBytes(10)]));
    await within(closed, HANDSHAKE_DEADLINE_MS + 3000, 'still open');
    const elapsed = performance.now() - startedAt;
    assert.ok(elapsed >= HANDSHAKE_DEADLINE_MS * 0.9, `closed after ${Math.round(elapsed)} ms, before the deadline`);
  });

  it('a client silent for two alive intervals leaves the list; its ALIVE then gets NACK', async (t) => {
    const silent = await open();
    const name = unique('silent');
    silent.send(UP(name));
    const { intervalMs } = ack(await silent.next());
    if (intervalMs > 2_000) {
      t.skip(`alive interval ${intervalMs} ms is too long to wait for`);
      return;
    }
    const watcher = await open();
    watcher.send(UP(unique('watch')));
    ack(await watcher.next());
    assert.ok(names(await who(watcher)).includes(name));
    // The watcher keeps heartbeating while the silent one says nothing for 2.5 intervals.
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, intervalMs / 2));
      watcher.send(ALIVE);
      ack(await watcher.next());
    }
    assert.ok(!names(await who(watcher)).includes(name), 'expired');
    silent.send(ALIVE);
    assert.equal((await silent.next()).type, 0x12, 'NACK');
    silent.send(UP(name));
    ack(await silent.next());
  });
});

describe("directory conformance: SHUTDOWN by the directory's own key (started with --identity alone)", () => {
  let directory: Directory;
  let identity: KeyPair;

  before(async () => {
    const identityFile = join(dir, 'own-identity.json');
    identity = writeIdentity(identityFile, randomBytes(32));
    directory = await startDirectory(['--identity', identityFile]);
  });

  after(() => directory.stop());

  it('SHUTDOWN from the identity key reaches every connection, the sender included, and the directory exits', async () => {
    const client = await openOn(directory);
    client.send(UP(unique('client')));
    ack(await client.next());
    const outsider = await openOn(directory);
    outsider.send(SHUTDOWN);
    assert.equal(errorCode(await outsider.next()), 'NATTER_ERR_NOT_AUTHORIZED');

    const admin = await openOn(directory, { keyPair: identity });
    assert.deepEqual(admin.remoteKey, identity.publicKey);
    admin.send(DUMP);
    await state(admin);
    const exited = once(directory.child, 'exit');
    admin.send(SHUTDOWN);
    for (const wire of [admin, client]) {
      const f = await wire.next();
      assert.equal(f.type, 0x18, `expected SHUTDOWN (0x18), got type 0x${f.type.toString(16)}`);
      assert.equal(f.payload.length, 0, 'SHUTDOWN has an empty payload');
      await wire.closed();
    }
    await within(exited, 5000, 'the directory is still running');
  });
});
