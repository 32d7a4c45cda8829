/**
 * Directory conformance: raw bytes, built by hand from docs/protocol.md, sent
 * to a directory started from a command. Point it at any implementation:
 *
 *   NATTER_DIRECTORY_CMD='my-directory --port 0' npm test
 *
 * The command must print a line containing `listening on HOST:PORT`, serve the
 * protocol there, and stop on SIGTERM. This file uses only Node built-ins, not
 * natter's own codec, so it checks the implementation against the document.
 * Expiry is checked when the directory's alive interval (read from its ACK) is
 * at most 2 s.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/natter.js', import.meta.url));
const COMMAND = process.env.NATTER_DIRECTORY_CMD ?? `"${process.execPath}" "${BIN}" directory --port 0 --alive-interval 1 --log-level warn`;

// ---- frames by hand (protocol.md §2-§4) ------------------------------------

function frame(type: number, payload: number[] | Buffer = []): Buffer {
  const body = Buffer.from(payload);
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.length, 0);
  head[4] = type;
  return Buffer.concat([head, body]);
}
const str8 = (s: string) => [Buffer.byteLength(s), ...Buffer.from(s)];
const HELLO = frame(0x01, [0x4e, 0x41, 0x54, 0x52, 0x00, 0x01]);
const UP = (name: string, port = 0) => frame(0x10, [...str8(name), 0x00, port >> 8, port & 0xff]);
const DOWN = frame(0x13);
const WHO = frame(0x14);
const ALIVE = frame(0x17);

interface Frame {
  type: number;
  payload: Buffer;
}

/** A raw connection that cuts incoming bytes into frames (header only; payloads are read per test). */
class Wire {
  readonly socket: Socket;
  #buf = Buffer.alloc(0);
  #frames: Frame[] = [];
  #wake: (() => void) | undefined;
  #isClosed = false;

  constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, chunk]);
      while (this.#buf.length >= 5 && this.#buf.length >= 5 + this.#buf.readUInt32BE(0)) {
        const len = this.#buf.readUInt32BE(0);
        this.#frames.push({ type: this.#buf[4] as number, payload: this.#buf.subarray(5, 5 + len) });
        this.#buf = this.#buf.subarray(5 + len);
      }
      this.#wake?.();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.#isClosed = true;
      this.#wake?.();
    });
  }

  send(...frames: Buffer[]): void {
    this.socket.write(Buffer.concat(frames));
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

  async closed(timeoutMs = 3000): Promise<void> {
    if (this.#isClosed) return;
    await Promise.race([once(this.socket, 'close'), new Promise((_, reject) => setTimeout(() => reject(new Error('still open')), timeoutMs))]);
  }
}

function errorCode(f: Frame): string {
  assert.equal(f.type, 0x02, `expected ERROR (0x02), got type 0x${f.type.toString(16)}`);
  const len = f.payload[0] as number;
  return f.payload.subarray(1, 1 + len).toString('ascii');
}

function ack(f: Frame): { port: number; intervalMs: number } {
  assert.equal(f.type, 0x11, `expected ACK (0x11), got type 0x${f.type.toString(16)}`);
  assert.equal(f.payload.length, 6);
  return { port: f.payload.readUInt16BE(0), intervalMs: f.payload.readUInt32BE(2) };
}

function peerName(f: Frame): string {
  assert.equal(f.type, 0x16, `expected PEER (0x16), got type 0x${f.type.toString(16)}`);
  return f.payload.subarray(1, 1 + (f.payload[0] as number)).toString('utf8');
}

// ---- the directory under test ----------------------------------------------

let child: ChildProcess;
let host = '127.0.0.1';
let port = 0;
const wires: Wire[] = [];

before(async () => {
  // Its own process group, so that SIGTERM reaches the directory and not just the shell that started it.
  // Without the runner's coverage variable: a child stopped mid-write would leave a broken coverage file.
  const env = { ...process.env };
  delete env.NODE_V8_COVERAGE;
  child = spawn(COMMAND, { shell: true, detached: true, stdio: ['ignore', 'pipe', 'inherit'], env });
  let out = '';
  const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening on" line from: ${COMMAND}`)), 15_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on \[?([^\]\s]+?)\]?:(\d+)/.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    child.on('exit', () => reject(new Error(`directory exited early: ${out}`)));
  });
  host = match[1] as string;
  port = Number(match[2]);
});

after(async () => {
  for (const w of wires) w.socket.destroy();
  if (child.exitCode === null) {
    const exited = once(child, 'exit');
    process.kill(-(child.pid as number), 'SIGTERM');
    await exited;
  }
});

async function open(hello = true): Promise<Wire> {
  const socket = connect({ host, port });
  await once(socket, 'connect');
  const wire = new Wire(socket);
  wires.push(wire);
  if (hello) {
    wire.send(HELLO);
    const first = await wire.next();
    assert.equal(first.type, 0x01);
  }
  return wire;
}

async function who(wire: Wire): Promise<string[]> {
  wire.send(WHO);
  const hdr = await wire.next();
  assert.equal(hdr.type, 0x15, 'HDR');
  const names: string[] = [];
  for (let i = 0; i < hdr.payload.readUInt32BE(0); i++) names.push(peerName(await wire.next()));
  return names;
}

let seq = 0;
const unique = (base: string) => `${base}${process.pid % 1000}x${seq++}`;

describe(`directory conformance (${COMMAND})`, () => {
  it('opens with HELLO: magic NATR, version 1', async () => {
    const wire = await open(false);
    wire.send(HELLO);
    const f = await wire.next();
    assert.equal(f.type, 0x01);
    assert.deepEqual([...f.payload], [0x4e, 0x41, 0x54, 0x52, 0x00, 0x01]);
  });

  it('UP is answered by ACK with a port and a positive alive interval; ALIVE by the same ACK', async () => {
    const wire = await open();
    wire.send(UP(unique('up')));
    const a = ack(await wire.next());
    assert.ok(a.port > 0 && a.intervalMs > 0);
    wire.send(ALIVE);
    assert.deepEqual(ack(await wire.next()), a);
  });

  it('WHO is answered by HDR(count) and exactly count PEER records, including the caller', async () => {
    const wire = await open();
    const name = unique('who');
    wire.send(UP(name));
    ack(await wire.next());
    assert.ok((await who(wire)).includes(name));
  });

  it('a name already online is refused with NATTER_ERR_NAME_TAKEN', async () => {
    const name = unique('taken');
    const first = await open();
    first.send(UP(name));
    ack(await first.next());
    const second = await open();
    second.send(UP(name));
    assert.equal(errorCode(await second.next()), 'NATTER_ERR_NAME_TAKEN');
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
    assert.ok(!(await who(watcher)).includes(name));
  });

  it('WHO before UP is refused with NATTER_ERR_NOT_REGISTERED; ALIVE before UP gets NACK', async () => {
    const wire = await open();
    wire.send(WHO);
    assert.equal(errorCode(await wire.next()), 'NATTER_ERR_NOT_REGISTERED');
    wire.send(ALIVE);
    assert.equal((await wire.next()).type, 0x12, 'NACK');
  });

  it('a frame before HELLO is refused with NATTER_ERR_UNEXPECTED_MESSAGE', async () => {
    const wire = await open(false);
    wire.send(WHO);
    assert.equal((await wire.next()).type, 0x01);
    assert.equal(errorCode(await wire.next()), 'NATTER_ERR_UNEXPECTED_MESSAGE');
    await wire.closed();
  });

  for (const [title, bytes, code] of [
    ['an oversized length', Buffer.from([0x7f, 0xff, 0xff, 0xff, 0x22]), 'NATTER_ERR_FRAME_TOO_LARGE'],
    ['an unknown type', frame(0xee), 'NATTER_ERR_UNKNOWN_TYPE'],
    ['a truncated payload', frame(0x11, [0xc3]), 'NATTER_ERR_TRUNCATED'],
    ['a chat message', frame(0x22, [0, 2, 0x68, 0x69]), 'NATTER_ERR_UNEXPECTED_MESSAGE'],
    ['invalid UTF-8 in a name', frame(0x10, [2, 0xc3, 0x28, 0, 0, 0]), 'NATTER_ERR_MALFORMED'],
  ] as const) {
    it(`${title} gets ${code}, then the connection closes`, async () => {
      const wire = await open();
      wire.send(bytes);
      assert.equal(errorCode(await wire.next()), code);
      await wire.closed();
    });
  }

  it('another protocol version is refused with NATTER_ERR_VERSION_MISMATCH', async () => {
    const wire = await open(false);
    wire.send(frame(0x01, [0x4e, 0x41, 0x54, 0x52, 0x00, 0x09]));
    assert.equal((await wire.next()).type, 0x01);
    assert.equal(errorCode(await wire.next()), 'NATTER_ERR_VERSION_MISMATCH');
  });

  it('SHUTDOWN and DUMP without the administrator token are refused with NATTER_ERR_NOT_AUTHORIZED', async () => {
    const wire = await open();
    wire.send(frame(0x19, [0, 3, 0x61, 0x62, 0x63]));
    assert.equal(errorCode(await wire.next()), 'NATTER_ERR_NOT_AUTHORIZED');
    const again = await open();
    again.send(frame(0x18, [0, 0]));
    assert.equal(errorCode(await again.next()), 'NATTER_ERR_NOT_AUTHORIZED');
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
    assert.ok((await who(watcher)).includes(name));
    // The watcher keeps heartbeating while the silent one says nothing for 2.5 intervals.
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, intervalMs / 2));
      watcher.send(ALIVE);
      ack(await watcher.next());
    }
    assert.ok(!(await who(watcher)).includes(name), 'expired');
    silent.send(ALIVE);
    assert.equal((await silent.next()).type, 0x12, 'NACK');
    silent.send(UP(name));
    ack(await silent.next());
  });
});
