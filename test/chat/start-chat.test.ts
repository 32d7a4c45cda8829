/**
 * The chat peer through the library alone: startChat() gives a bot the peer
 * `natter chat` runs, and a front end implementing ChatUi sees the same
 * UI-neutral events, in order, with no way to the node behind them.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, it } from 'node:test';
import * as natter from '../../src/index.ts';
import { freePorts } from '../helpers/ports.ts';

/** A front end that keeps what it is told, and lets a test wait for an event. */
class RecordingUi implements natter.ChatUi {
  readonly seen: natter.ChatEvent[] = [];
  ready: natter.ReadyEvent | undefined;
  isCaughtUp = false;
  isClosed = false;
  #waiters: (() => void)[] = [];

  start(ready: natter.ReadyEvent): void {
    this.ready = ready;
  }

  event(e: natter.ChatEvent): void {
    this.seen.push(e);
    for (const w of this.#waiters.splice(0)) w();
  }

  caughtUp(): void {
    this.isCaughtUp = true;
  }

  close(): void {
    this.isClosed = true;
  }

  async next<T extends natter.ChatEvent['type']>(
    type: T,
    where: (e: natter.ChatEventOf<T>) => boolean = () => true,
  ): Promise<natter.ChatEventOf<T>> {
    const deadline = Date.now() + 8_000;
    for (;;) {
      const found = this.seen.find((e): e is natter.ChatEventOf<T> => e.type === type && where(e as natter.ChatEventOf<T>));
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`no ${type} event; saw ${JSON.stringify(this.seen)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

const sessions: natter.ChatSession[] = [];
after(async () => {
  for (const s of sessions) await s.quit();
});

it('two bots chat through startChat() and runChatUi(), each seeing only events', async () => {
  const [adaPort, boPort] = (await freePorts(2)) as [number, number];
  const table = new natter.FriendsTable([
    { name: 'ada', ip: '127.0.0.1', port: adaPort },
    { name: 'bo', ip: '127.0.0.1', port: boPort },
  ]);
  const start = (name: string) =>
    natter.startChat({
      name,
      find: { kind: 'friends', table, file: 'friends.json' },
      keyPair: natter.keyPairFromSeed(randomBytes(32)),
      known: new natter.KnownPeers(),
      listenHost: undefined,
      isAutoAccept: false,
      maxChats: 8,
      idleTimeoutMs: 60_000,
      keepaliveIntervalMs: 15_000,
      store: new natter.MemoryMessageStore(),
      logger: natter.SILENT_LOGGER,
    });
  const ada = await start('ada');
  const bo = await start('bo');
  sessions.push(ada.session, bo.session);
  assert.deepEqual(ada.ready, { type: 'ready', name: 'ada', ip: '127.0.0.1', port: adaPort, via: 'friends table friends.json' });
  assert.equal(ada.session.name, 'ada');
  assert.equal('node' in ada.session, false, 'the node behind the session is not reachable');

  const adaUi = new RecordingUi();
  const boUi = new RecordingUi();
  const adaDone = natter.runChatUi(ada.session, adaUi, ada.ready);
  const boDone = natter.runChatUi(bo.session, boUi, bo.ready);
  assert.equal(adaUi.ready?.name, 'ada');
  assert.ok(adaUi.isCaughtUp, 'told once the held events were given');

  assert.equal(await ada.session.send('bo', 'hello bo'), true);
  const queued = await adaUi.next('queued');
  assert.equal(queued.text, 'hello bo');
  const message = await boUi.next('message');
  assert.deepEqual([message.from, message.text, message.id], ['ada', 'hello bo', queued.id]);
  await adaUi.next('delivered', (e) => e.id === queued.id);
  assert.deepEqual(
    adaUi.seen.filter((e) => e.type === 'queued' || e.type === 'sent' || e.type === 'delivered').map((e) => e.type),
    ['queued', 'sent', 'delivered'],
    'each state of the message, in order',
  );

  // A command that fails resolves false after an error event says why.
  assert.equal(await ada.session.connect('nobody'), false);
  assert.equal((await adaUi.next('error')).code, 'NATTER_ERR_UNKNOWN_PEER');

  await ada.session.quit();
  assert.equal(await adaDone, 0);
  assert.ok(adaUi.isClosed);
  assert.equal((await boUi.next('ended')).with, 'ada');
  await bo.session.quit();
  assert.equal(await boDone, 0);
});
