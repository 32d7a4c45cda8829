import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect as netConnect, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import type { PeerInfo } from '../../src/discovery/discovery.ts';
import { ERROR_CODES, NatterError, type NatterErrorCode } from '../../src/errors.ts';
import { ManualScheduler } from '../../src/clock.ts';
import { encodeMessage } from '../../src/protocol/codec.ts';
import { PeerNode, type PeerNodeOptions } from '../../src/peer/peer-node.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { textMsg } from '../helpers/messages.ts';
import { FriendsBook } from '../helpers/book.ts';

const nodes: PeerNode[] = [];
const servers: Server[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.stop();
  for (const s of servers.splice(0)) s.close();
});

async function start(book: FriendsBook, name: string, options: Partial<PeerNodeOptions> = {}): Promise<PeerNode> {
  const node = new PeerNode({ name, discovery: book, listenPort: 0, ...options });
  const { port } = await node.start();
  book.entries.set(name, { name, ip: '127.0.0.1', port });
  nodes.push(node);
  return node;
}

/** Records every event of a node; next(type) returns the oldest one of that type not yet returned, waiting if needed. */
function recorder(node: PeerNode) {
  const events: unknown[][] = [];
  const taken = new Set<number>();
  let wake: (() => void) | undefined;
  for (const type of ['request', 'connected', 'declined', 'message', 'ended', 'problem'] as const) {
    node.on(type, (...args: unknown[]) => {
      // A message's id and time are checked where they matter; here it is who said what.
      const shown = type === 'message' ? args.slice(0, 2) : args;
      events.push([type, ...shown.map((a) => (a instanceof NatterError ? a.code : a))]);
      wake?.();
    });
  }
  return {
    events,
    async next(type: string, timeoutMs = 3000): Promise<unknown[]> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const i = events.findIndex((e, j) => e[0] === type && !taken.has(j));
        if (i >= 0) {
          taken.add(i);
          return events[i] as unknown[];
        }
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no ${type} event within ${timeoutMs} ms; got ${JSON.stringify(events)}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    },
  };
}

const until = async (cond: () => boolean, timeoutMs = 3000) => {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

const hasCode = (code: NatterErrorCode) => (e: unknown) => e instanceof NatterError && e.code === code;

describe('PeerNode chats', () => {
  it('asks, accepts, and carries messages both ways on one connection', async () => {
    const book = new FriendsBook();
    const alice = await start(book, 'alice');
    const bob = await start(book, 'bob');
    const a = recorder(alice);
    const b = recorder(bob);
    await alice.send('bob', 'hi bob');
    assert.deepEqual(await b.next('request'), ['request', 'alice']);
    assert.equal(bob.chatState('alice'), 'incoming');
    bob.accept('alice');
    assert.deepEqual(await a.next('connected'), ['connected', 'bob', { link: 'direct' }]);
    assert.deepEqual(await b.next('message'), ['message', 'alice', 'hi bob'], 'the text typed before acceptance arrives');
    await bob.send('alice', 'hello alice');
    assert.deepEqual(await a.next('message'), ['message', 'bob', 'hello alice']);
    for (let i = 0; i < 50; i++) await alice.send('bob', `n${i}`);
    for (let i = 0; i < 50; i++) assert.deepEqual(await b.next('message'), ['message', 'alice', `n${i}`]);
    assert.equal(alice.counters.dialed + bob.counters.dialed, 1, 'one connection for the pair, reused');
    assert.equal(alice.connectionCount, 1);
    assert.equal(bob.connectionCount, 1);
  });

  it('a declined request tells the asker, and messages typed meanwhile are reported undelivered', async () => {
    const book = new FriendsBook();
    const alice = await start(book, 'alice');
    const bob = await start(book, 'bob');
    const a = recorder(alice);
    await alice.send('bob', 'may I?');
    await recorder(bob).next('request');
    bob.decline('alice');
    assert.deepEqual(await a.next('declined'), ['declined', 'bob', 'declined']);
    assert.deepEqual(await a.next('problem'), ['problem', ERROR_CODES.NOT_DELIVERED, 'bob']);
    assert.equal(alice.chatState('bob'), undefined);
    assert.throws(() => bob.accept('alice'), hasCode(ERROR_CODES.NO_SUCH_REQUEST));
  });

  it('stop() lets texts waiting for a chat leave once it opens, and reports those that cannot', async () => {
    const book = new FriendsBook();
    const quick = await start(book, 'quick', { isAutoAccept: true });
    const slow = await start(book, 'slow'); // its user never answers
    const leaver = await start(book, 'leaver', { stopGraceMs: 300 });
    const q = recorder(quick);
    const l = recorder(leaver);
    await leaver.send('quick', 'sent while opening');
    await leaver.send('slow', 'never answered');
    await recorder(slow).next('request');
    await leaver.stop();
    assert.deepEqual(await q.next('message'), ['message', 'leaver', 'sent while opening']);
    assert.deepEqual(await q.next('ended'), ['ended', 'leaver', 'remote', 'leaver ended the chat']);
    assert.deepEqual(await l.next('problem'), ['problem', ERROR_CODES.NOT_DELIVERED, 'slow']);
  });

  it('beyond --max-chats a request is declined as busy', async () => {
    const book = new FriendsBook();
    const alice = await start(book, 'alice');
    const bob = await start(book, 'bob', { maxChats: 1, isAutoAccept: true });
    const carol = await start(book, 'carol');
    await alice.connect('bob');
    await recorder(alice).next('connected');
    const c = recorder(carol);
    await carol.connect('bob');
    assert.deepEqual(await c.next('declined'), ['declined', 'bob', 'busy']);
    await assert.rejects(bob.connect('carol'), hasCode(ERROR_CODES.TOO_MANY_CHATS));
  });

  it('END from either side closes the chat on both; they can chat again', async () => {
    const book = new FriendsBook();
    const alice = await start(book, 'alice', { isAutoAccept: true });
    const bob = await start(book, 'bob', { isAutoAccept: true });
    const a = recorder(alice);
    const b = recorder(bob);
    await alice.connect('bob');
    await a.next('connected');
    bob.end('alice');
    assert.deepEqual(await a.next('ended'), ['ended', 'bob', 'remote', 'bob ended the chat']);
    assert.deepEqual(await b.next('ended'), ['ended', 'alice', 'local', 'ended by you']);
    await until(() => alice.connectionCount === 0 && bob.connectionCount === 0);
    await alice.send('bob', 'again');
    assert.deepEqual(await b.next('message'), ['message', 'alice', 'again']);
    alice.end('bob');
    await b.next('ended');
    assert.throws(() => alice.end('bob'), hasCode(ERROR_CODES.NO_SUCH_CHAT));
  });

  it('holds several chats at once', async () => {
    const book = new FriendsBook();
    const hub = await start(book, 'hub', { isAutoAccept: true });
    const h = recorder(hub);
    const spokes = await Promise.all(['s1', 's2', 's3', 's4'].map((n) => start(book, n, { isAutoAccept: true })));
    await Promise.all(spokes.map((s) => s.send('hub', `from ${s.name}`)));
    const got = [];
    for (let i = 0; i < 4; i++) got.push((await h.next('message'))[2]);
    assert.deepEqual(got.sort(), ['from s1', 'from s2', 'from s3', 'from s4']);
    const heard = spokes.map((s) => recorder(s));
    for (const s of spokes) await hub.send(s.name, `to ${s.name}`);
    for (const [i, s] of spokes.entries()) assert.deepEqual(await heard[i]?.next('message'), ['message', 'hub', `to ${s.name}`]);
    assert.equal(hub.connectionCount, 4);
  });

  it('friends of a table are accepted without asking', async () => {
    const book = new FriendsBook();
    const alice = await start(book, 'alice');
    const bob = await start(book, 'bob');
    book.friends.add('alice');
    const a = recorder(alice);
    await alice.connect('bob');
    await a.next('connected');
    assert.equal(
      recorder(bob).events.some((e) => e[0] === 'request'),
      false,
    );
  });
});

describe('PeerNode connections', () => {
  it('closes an idle connection and opens a new one transparently for the next message', async () => {
    const book = new FriendsBook();
    // Time for the keepalive and idle timers moves only when the test says so.
    const scheduler = new ManualScheduler();
    const timing = { idleTimeoutMs: 150, keepaliveIntervalMs: 86_400_000, scheduler };
    const alice = await start(book, 'alice', { isAutoAccept: true, ...timing });
    const bob = await start(book, 'bob', { isAutoAccept: true, ...timing });
    const b = recorder(bob);
    await alice.send('bob', 'one');
    await b.next('message');
    scheduler.advance(149);
    await new Promise((r) => setImmediate(r));
    assert.equal(alice.connectionCount, 1, 'not idle yet');
    scheduler.advance(1); // alice dialed: she closes at the idle timeout; bob would wait 10% longer
    await until(() => alice.connectionCount === 0 && bob.connectionCount === 0);
    assert.equal(alice.chatState('bob'), 'open', 'the chat outlives its connection');
    assert.equal(recorder(alice).events.length, 0, 'an idle close is not reported as a loss');
    await alice.send('bob', 'two');
    assert.deepEqual(await b.next('message'), ['message', 'alice', 'two']);
    await bob.send('alice', 'three'); // the reply reuses the new connection
    assert.equal(alice.counters.dialed, 2);
    assert.equal(bob.counters.dialed, 0);
    assert.ok(alice.counters.idleClosed + bob.counters.idleClosed >= 1);
  });

  it('two peers dialling each other at the same moment end up with exactly one connection', async () => {
    for (let round = 0; round < 20; round++) {
      const book = new FriendsBook();
      const [x, y] = round % 2 === 0 ? ['ann', 'ben'] : ['zed', 'amy'];
      const p = await start(book, x);
      const q = await start(book, y);
      const rp = recorder(p);
      const rq = recorder(q);
      await Promise.all([p.send(y, `hi from ${x}`), q.send(x, `hi from ${y}`)]);
      assert.deepEqual(await rp.next('message'), ['message', y, `hi from ${y}`], `round ${round}`);
      assert.deepEqual(await rq.next('message'), ['message', x, `hi from ${x}`], `round ${round}`);
      await until(() => p.connectionCount === 1 && q.connectionCount === 1);
      assert.equal(
        rp.events.filter((e) => e[0] === 'request').length + rq.events.filter((e) => e[0] === 'request').length,
        0,
        'nobody was asked: both wanted it',
      );
      await p.stop();
      await q.stop();
    }
  });

  it('a dead connection is detected within three keepalive intervals, and the UI hears of it', async () => {
    const book = new FriendsBook();
    const scheduler = new ManualScheduler();
    const alice = await start(book, 'alice', { isAutoAccept: true, keepaliveIntervalMs: 100, scheduler });
    const bob = await start(book, 'bob', { isAutoAccept: true, keepaliveIntervalMs: 60_000 });
    // alice reaches bob through a proxy that can freeze: bytes stop, nothing closes.
    const bobPort = (book.entries.get('bob') as PeerInfo).port;
    let isFrozen = false;
    const proxy = createServer((inbound: Socket) => {
      const outbound = netConnect(bobPort, '127.0.0.1');
      inbound.on('data', (d) => isFrozen || outbound.write(d));
      outbound.on('data', (d) => isFrozen || inbound.write(d));
      inbound.on('error', () => {});
      outbound.on('error', () => {});
    });
    servers.push(proxy);
    proxy.listen(0, '127.0.0.1');
    await once(proxy, 'listening');
    book.entries.set('bob', { name: 'bob', ip: '127.0.0.1', port: (proxy.address() as AddressInfo).port });
    const a = recorder(alice);
    await alice.send('bob', 'before');
    await recorder(bob).next('message');
    isFrozen = true;
    const started = scheduler.now(); // the last frame alice heard came before this
    // Half an interval at a time (as often as alice checks), letting the network work in between.
    while (!a.events.some((e) => e[0] === 'ended') && scheduler.now() - started < 1_000) {
      scheduler.advance(50);
      await new Promise((r) => setTimeout(r, 5));
    }
    const ended = await a.next('ended', 2_000);
    assert.equal(ended[2], 'lost');
    assert.match(String(ended[3]), /keepalive/);
    assert.ok(
      scheduler.now() - started <= 3 * 100,
      `detected after ${scheduler.now() - started} ms of keepalive time; three intervals are 300 ms`,
    );
  });

  it('a peer that vanishes without END (a crash) is reported as lost; an idle close is not', async () => {
    const book = new FriendsBook();
    const alice = await start(book, 'alice', { isAutoAccept: true });
    const a = recorder(alice);
    const crash = await RawClient.connect((alice.address as AddressInfo).port);
    crash.send({ type: 'CONN', name: 'crash', ip: '127.0.0.1', port: 9 });
    assert.deepEqual(await crash.next(), { type: 'RESP', accept: true, reason: '' });
    assert.deepEqual(await a.next('connected'), ['connected', 'crash', { link: 'direct' }]);
    crash.destroy();
    assert.deepEqual(await a.next('ended'), ['ended', 'crash', 'lost', 'lost the connection to crash: crash closed the connection']);
    assert.equal(alice.chatState('crash'), undefined);
  });

  it('an unknown peer and an offline friend get clear errors', async () => {
    const book = new FriendsBook();
    const alice = await start(book, 'alice');
    await assert.rejects(alice.send('nobody', 'hi'), hasCode(ERROR_CODES.UNKNOWN_PEER));
    book.entries.set('ghost', { name: 'ghost', ip: '127.0.0.1', port: 1 });
    await assert.rejects(
      alice.connect('ghost'),
      (e) => hasCode(ERROR_CODES.PEER_UNREACHABLE)(e) && /ghost is offline/.test((e as Error).message),
    );
    assert.equal(alice.chatState('ghost'), undefined);
    await assert.rejects(alice.connect('alice'), hasCode(ERROR_CODES.INVALID_ARGUMENT));
    await assert.rejects(alice.connect('bad name'), hasCode(ERROR_CODES.INVALID_NAME));
  });

  it('garbage and out-of-place frames on the listening port get an ERROR; other chats go on', async () => {
    const book = new FriendsBook();
    const alice = await start(book, 'alice', { isAutoAccept: true });
    const bob = await start(book, 'bob', { isAutoAccept: true });
    const b = recorder(bob);
    await alice.send('bob', 'steady');
    await b.next('message');
    const port = (alice.address as AddressInfo).port;
    for (const [bytes, code] of [
      [Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00]), ERROR_CODES.FRAME_TOO_LARGE],
      [encodeMessage(textMsg('no CONN first')), ERROR_CODES.UNEXPECTED_MESSAGE],
      [encodeMessage({ type: 'CONN', name: 'alice', ip: '', port: 1 }), ERROR_CODES.INVALID_NAME],
    ] as const) {
      const c = await RawClient.connect(port);
      c.sendBytes(bytes);
      const answer = await c.next();
      assert.equal(answer.type === 'ERROR' && answer.code, code);
      await c.closed();
    }
    // TEXT before the chat is accepted.
    const eve = await RawClient.connect(port);
    eve.send({ type: 'CONN', name: 'eve', ip: '127.0.0.1', port: 9 });
    assert.deepEqual(await eve.next(), { type: 'RESP', accept: true, reason: '' });
    const carol = await RawClient.connect((await start(book, 'carol')).address?.port as number);
    carol.send({ type: 'CONN', name: 'mallory', ip: '127.0.0.1', port: 9 });
    carol.send(textMsg('sneaking in'));
    const refused = await carol.next();
    assert.equal(refused.type === 'ERROR' && refused.code, ERROR_CODES.UNEXPECTED_MESSAGE);
    eve.destroy();
    await alice.send('bob', 'still here');
    assert.deepEqual(await b.next('message'), ['message', 'alice', 'still here']);
  });

  it('refuses connections past maxPendingInbound that have not said who they are', async () => {
    const book = new FriendsBook();
    const alice = await start(book, 'alice', { maxPendingInbound: 2 });
    const port = (alice.address as AddressInfo).port;
    const quiet = [await RawClient.connect(port), await RawClient.connect(port)];
    // A third is closed before its handshake: nothing is spent on it.
    await assert.rejects(RawClient.connect(port, { hello: false }), hasCode(ERROR_CODES.HANDSHAKE_FAILED));
    for (const q of quiet) q.destroy();
  });

  it('validates its options', () => {
    assert.throws(
      () => new PeerNode({ name: 'x', discovery: new FriendsBook(), listenPort: 0, maxChats: 0 }),
      hasCode(ERROR_CODES.INVALID_ARGUMENT),
    );
    assert.throws(
      () => new PeerNode({ name: 'x', discovery: new FriendsBook(), listenPort: 0, keepaliveIntervalMs: 2 ** 31 }),
      hasCode(ERROR_CODES.INVALID_ARGUMENT),
    );
    assert.throws(() => new PeerNode({ name: 'no/slash', discovery: new FriendsBook(), listenPort: 0 }), hasCode(ERROR_CODES.INVALID_NAME));
  });
});
