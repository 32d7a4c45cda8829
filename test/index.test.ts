import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { it } from 'node:test';
import * as natter from '../src/index.ts';
import { TEST_PORT_RANGE } from './helpers/ports.ts';

it('the library surface exposes what a bot needs to run a directory and chat', async () => {
  for (const name of [
    'DirectoryServer',
    'DirectoryClient',
    'DirectoryLink',
    'PeerNode',
    'FriendsTable',
    'MemoryDirectoryStore',
    'FramedConnection',
    'FrameDecoder',
    'encodeMessage',
    'NatterError',
    'dial',
  ]) {
    assert.equal(typeof (natter as Record<string, unknown>)[name], 'function', name);
  }
  // A directory and two peers, through the public API alone.
  const directory = new natter.DirectoryServer({ aliveIntervalMs: 1_000, portRange: TEST_PORT_RANGE });
  const { port } = await directory.listen(0);
  const nodes: natter.PeerNode[] = [];
  const links: natter.DirectoryLink[] = [];
  try {
    await chat(port, nodes, links);
  } finally {
    // Whatever failed, nothing is left open to keep the test's process alive.
    for (const n of nodes) await n.stop();
    for (const l of links) await l.stop();
    await directory.shutdown();
  }
});

/** Two peers registered with the directory at `port`: one sends, the other hears it. */
async function chat(port: number, nodes: natter.PeerNode[], links: natter.DirectoryLink[]): Promise<void> {
  // Each user has one key: the directory binds the name to it, and the other peer checks it.
  const keys = new Map(['ada', 'bo'].map((name) => [name, natter.keyPairFromSeed(randomBytes(32))]));
  for (const name of ['ada', 'bo']) {
    links.push(
      new natter.DirectoryLink({
        name,
        connect: () => natter.DirectoryClient.connect({ host: '127.0.0.1', port, keyPair: keys.get(name) as natter.KeyPair }),
      }),
    );
  }
  for (const link of links) {
    const { port: listenPort } = await link.start();
    const node = new natter.PeerNode({
      name: link.name,
      discovery: link,
      listenPort,
      isAutoAccept: true,
      keyPair: keys.get(link.name) as natter.KeyPair,
    });
    await node.start();
    nodes.push(node);
  }
  const [ada, bo] = nodes as [natter.PeerNode, natter.PeerNode];
  const got = new Promise<string>((resolve) => bo.once('message', (_from, text) => resolve(text)));
  await ada.send('bo', 'hello through the library');
  assert.equal(await got, 'hello through the library');
}

it('the library surface exports both message stores', () => {
  for (const name of ['MemoryMessageStore', 'FileMessageStore']) {
    assert.equal(typeof (natter as Record<string, unknown>)[name], 'function', name);
  }
  const store: natter.MessageStore = new natter.MemoryMessageStore({ wallClock: () => 2 });
  const message: natter.StoredMessage = {
    id: '0123456789abcdef0123456789abcdef' satisfies natter.MessageId,
    peer: 'bo',
    ts: 1,
    text: 'hi',
  };
  store.enqueue([message]);
  assert.deepEqual(store.history('bo', 1), [{ ts: 1, dir: 'out', id: message.id, text: 'hi', at: 2 } satisfies natter.HistoryEntry]);
  store.close();
});
