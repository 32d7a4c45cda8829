/**
 * The processes of bench/tui (see tui-ipc.ts):
 *
 *   node bench/tui-proc.ts ui <full|line> FRIENDS   natter chat's peer (startChat) with the UI asked for,
 *                                                  on stdin/stdout pipes that claim to be a 120×40
 *                                                  terminal with colours; the parent types and reads
 *   node bench/tui-proc.ts peer - FRIENDS          a peer that sends 100-byte messages to the UI's peer
 *                                                  at a steady rate (a burst every 10 ms)
 *   node bench/tui-proc.ts memory <full|line>      a UI with no peer behind it, fed message events
 *
 * Both chat peers keep their outbox and history on disk (FileMessageStore
 * in a fresh directory, removed at exit), as `natter chat` does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startChat } from '../src/chat/start-chat.ts';
import type { ChatSession } from '../src/chat/chat-session.ts';
import type { ChatEvent } from '../src/chat/events.ts';
import type { ChatCommands, ChatUi } from '../src/chat/ui.ts';
import { runChatUi } from '../src/chat/ui.ts';
import { LineUi } from '../src/cli/ui/line-ui.ts';
import { FullScreenUi } from '../src/cli/ui/tui/full-screen-ui.ts';
import { FriendsTable } from '../src/discovery/friends-table.ts';
import { SILENT_LOGGER } from '../src/log.ts';
import { KnownPeers } from '../src/peer/known-peers.ts';
import { FileMessageStore } from '../src/peer/store/file-message-store.ts';
import { keyPairFromSeed } from '../src/transport/secure.ts';
import { serveCalls, type Handlers } from './child.ts';
import { COLUMNS, ROWS, type MemoryCalls, type PeerCalls, type UiCalls, type UiKind } from './tui-ipc.ts';

const [role, kind, friendsFile] = process.argv.slice(2) as [string, UiKind | '-', string];
/**
 * About 100 bytes of UTF-8 (as bench/chat sends), different all along from
 * one message to the next, as a conversation is: a number, then a window
 * into a long text that moves with it. Identical lines would let a
 * differential renderer write next to nothing, which no real chat allows.
 */
const PROSE =
  'the quick brown fox jumps over the lazy dog, héllo wörld ✓ pack my box with five dozen liquor jugs; sphinx of black quartz, judge my vow! ';
const LONG = PROSE.repeat(4);
const numbered = (i: number): string => `${i} ${LONG.slice((i * 37) % PROSE.length, ((i * 37) % PROSE.length) + 90)}`;
const PHASE_TIMEOUT_MS = 60_000;

const dataDir = mkdtempSync(join(tmpdir(), 'natter-bench-tui-'));
process.on('exit', () => rmSync(dataDir, { recursive: true, force: true }));

async function startPeer(name: string): Promise<{ session: ChatSession; ready: ChatEvent & { type: 'ready' } }> {
  return startChat({
    name,
    find: { kind: 'friends', table: FriendsTable.load(friendsFile), file: friendsFile },
    keyPair: keyPairFromSeed(randomBytes(32)),
    known: new KnownPeers(),
    listenHost: undefined,
    isAutoAccept: true,
    maxChats: 8,
    idleTimeoutMs: 300_000,
    keepaliveIntervalMs: 15_000,
    store: FileMessageStore.open({ dir: join(dataDir, name), isHistoryOn: true }),
    // natter reads a peer at 1,000 frames a second by default: the bench lifts the pace to see the UI under 10,000 messages a second.
    maxFramesPerSecond: 100_000_000,
    logger: SILENT_LOGGER,
  });
}

/** Makes a pipe look like a terminal to a UI: size, colours, raw mode that does nothing. */
function asTerminal<T extends object>(stream: T, size: boolean): T {
  const s = stream as unknown as Record<string, unknown>;
  s.isTTY = true;
  if (size) {
    s.columns = COLUMNS;
    s.rows = ROWS;
    s.hasColors = () => true;
  } else s.setRawMode = () => stream;
  return stream;
}

async function uiProcess(): Promise<void> {
  const { session, ready } = await startPeer('ui');
  let messages = 0;
  let bytes = 0;
  session.on('event', (e) => {
    if (e.type === 'message') messages++;
  });
  const input = asTerminal(process.stdin, false);
  const output = asTerminal(process.stdout, true);
  const write = output.write.bind(output) as (chunk: string | Uint8Array, ...rest: unknown[]) => boolean;
  (output as unknown as { write: typeof write }).write = (chunk, ...rest) => {
    bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    return write(chunk, ...rest);
  };
  const ui: ChatUi =
    kind === 'full'
      ? new FullScreenUi(session, { input, output, scrollback: 10_000, isNotifying: false })
      : new LineUi(session, input, output);
  void runChatUi(session, ui, ready).then(() => process.exit(0));
  const handlers: Handlers<UiCalls> = {
    counts: async () => ({ messages, bytes }),
    quit: async () => {
      void session.quit();
      return null;
    },
  };
  serveCalls(handlers);
}

async function peerProcess(): Promise<void> {
  const { session } = await startPeer('peer');
  session.begin();
  const handlers: Handlers<PeerCalls> = {
    hello: async () => {
      if (!(await session.send('ui', 'hello'))) throw new Error('the first message was refused');
      return null;
    },
    stream: async ({ rate, ms }) => {
      const perTick = Math.max(1, Math.round(rate / 100));
      const start = performance.now();
      const deadline = start + Math.min(ms, PHASE_TIMEOUT_MS);
      let sent = 0;
      for (let tick = 1; performance.now() < deadline; tick++) {
        for (let i = 0; i < perTick; i++) if (await session.send('ui', numbered(sent))) sent++;
        // On schedule: the next burst at start + tick × 10 ms (at once when behind).
        const wait = start + tick * 10 - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      return { sent };
    },
    quit: async () => {
      await session.quit();
      return null;
    },
  };
  serveCalls(handlers, { exitAfter: 'quit' });
}

/** Commands that do nothing: the memory process measures a UI's lines, not a peer. */
const IDLE: ChatCommands = {
  name: 'me',
  who: async () => true,
  whois: async () => true,
  trust: async () => true,
  dump: () => {},
  doctor: async () => true,
  connect: async () => true,
  accept: async () => true,
  decline: async () => true,
  send: async () => true,
  history: async () => true,
  end: async () => true,
  outbox: () => {},
  drop: async () => true,
  room: async () => true,
  names: async () => [],
  recentHistory: () => [],
  quit: async () => {},
  pauseIncoming: () => {},
  resumeIncoming: () => {},
};

function memoryProcess(): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const heap = (): number => {
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };
  const handlers: Handlers<MemoryCalls> = {
    measure: async ({ lines, buffers }) => {
      const sink = asTerminal(new Writable({ write: (_chunk, _enc, done) => done() }), true) as unknown as NodeJS.WriteStream;
      const input = asTerminal(new PassThrough(), false) as unknown as NodeJS.ReadStream;
      const before = heap();
      const ui: ChatUi =
        kind === 'full'
          ? new FullScreenUi(IDLE, { input, output: sink, scrollback: Math.ceil(lines / buffers), isNotifying: false })
          : new LineUi(IDLE, input, sink);
      ui.start({ type: 'ready', name: 'me', ip: '127.0.0.1', port: 1, via: 'bench' });
      const ts = Date.now();
      for (let i = 0; i < lines; i++) {
        ui.event({ type: 'message', from: `peer_${i % buffers}`, text: numbered(i), id: i.toString(16).padStart(32, '0'), ts });
        // Let frames be drawn now and then, as they would be.
        if (i % 5_000 === 0) await new Promise((r) => setImmediate(r));
      }
      await new Promise((r) => setTimeout(r, 50));
      const after = heap();
      ui.close();
      return { before, after };
    },
  };
  serveCalls(handlers);
}

if (role === 'ui') await uiProcess();
else if (role === 'peer') await peerProcess();
else if (role === 'memory') memoryProcess();
else throw new Error(`unknown role ${role}`);
