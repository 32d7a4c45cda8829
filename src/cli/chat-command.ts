/** `natter chat`: natter's main job. The default command: `natter --name alice` is `natter chat --name alice`. */
import { userInfo } from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_DIRECTORY_PORT } from '../defaults.ts';
import { FriendsTable } from '../discovery/friends-table.ts';
import { ERROR_CODES, NatterError } from '../errors.ts';
import { defaultDataDir } from '../peer/store/data-dir.ts';
import { FileMessageStore } from '../peer/store/file-message-store.ts';
import { FileRoomStore } from '../peer/store/room-store.ts';
import { normalizeName } from '../protocol/fields.ts';
import { startChat, type FindPeers } from '../chat/start-chat.ts';
import { runChatUi } from '../chat/ui.ts';
import { IDENTITY_FLAG, NEW_IDENTITY_FLAG, loadCredentials } from './identity-options.ts';
import { JsonUi } from './ui/json-ui.ts';
import { LineUi } from './ui/line-ui.ts';
import { DEFAULT_SCROLLBACK } from './ui/tui/buffers.ts';
import { FullScreenUi } from './ui/tui/full-screen-ui.ts';
import { stderrLogger } from './logger.ts';
import { parseHost, parseHostPort, parseLogLevel, parsePositiveInt, parseSeconds, type HostPort, type LogLevel } from './parse.ts';

interface ChatFlags {
  name?: string;
  directory?: HostPort;
  friends?: string;
  localDirectory: HostPort;
  /** --lan / --no-lan; undefined when neither is given. */
  lan?: boolean;
  listen?: string;
  autoAccept: boolean;
  maxChats: number;
  idleTimeout: number;
  keepalive: number;
  json: boolean;
  /** --ui full|line; undefined when not given. */
  ui?: UiKind;
  notify: boolean;
  scrollback: number;
  logLevel: LogLevel;
  identity?: string;
  newIdentity: boolean;
  trustDirectory: boolean;
  dataDir?: string;
  history: boolean;
  historyMax: number;
  retry: number;
  maxRoomMembers: number;
}

const UI_KINDS = ['full', 'line'] as const;
type UiKind = (typeof UI_KINDS)[number];

/**
 * The UI to run: as asked, or full-screen when both ends are a terminal that
 * can address its cursor (TERM=dumb cannot), else the line UI.
 * @throws NatterError for --ui full without a terminal
 */
function uiKind(asked: UiKind | undefined): UiKind {
  const isTerminal = Boolean(process.stdin.isTTY && process.stdout.isTTY);
  if (asked === 'full' && !isTerminal)
    throw new NatterError(
      ERROR_CODES.INVALID_ARGUMENT,
      '--ui full needs a terminal on stdin and stdout; --ui line or --json work anywhere',
    );
  return asked ?? (isTerminal && process.env.TERM !== 'dumb' ? 'full' : 'line');
}

/** The login name, made into a valid display name, as the default --name. */
function defaultName(): string {
  const raw = (process.env.USER ?? userInfo().username).replace(/[^\p{L}\p{N}_.-]/gu, '');
  return raw === '' ? 'me' : raw.slice(0, 32);
}

export function chatCommand(): Command {
  return (
    new Command('chat')
      .description('chat with other peers directly (the default command)')
      .option('--name <name>', 'your display name: one word, at most 32 bytes (default: your login name)')
      .addOption(new Option('--directory <host:port>', 'find peers through this directory').argParser(parseHostPort).conflicts('friends'))
      .option('--friends <file>', 'find peers in this friends table (JSON; see examples/friends.json); no server involved')
      .addOption(
        new Option('--local-directory <host:port>', 'with neither option: where peers on this machine meet (the first one hosts it)')
          .default({ host: '127.0.0.1', port: DEFAULT_DIRECTORY_PORT }, `127.0.0.1:${DEFAULT_DIRECTORY_PORT}`)
          .argParser(parseHostPort),
      )
      .option('--lan', 'find peers on the LAN too (mDNS), and be found there (on by default with neither --directory nor --friends)')
      .option('--no-lan', 'do not use the LAN')
      .addOption(
        new Option(
          '--listen <address>',
          'address to listen on for peers (default: all addresses with --directory or the LAN, the own entry with --friends, else 127.0.0.1)',
        ).argParser(parseHost),
      )
      .option('--auto-accept', 'accept every chat request without asking', false)
      .addOption(
        new Option('--max-chats <n>', 'most chats at once; more requests are declined as busy').default(8).argParser(parsePositiveInt),
      )
      .addOption(
        new Option('--max-room-members <n>', 'most members (invitations included) of a room you invite to: 2 to 32')
          .default(32)
          .argParser(parseRoomMembers),
      )
      .addOption(
        new Option('--idle-timeout <seconds>', 'close a connection after this long without messages')
          .default(300_000, '300')
          .argParser(parseSeconds),
      )
      .addOption(
        new Option('--keepalive <seconds>', 'probe open connections this often; three silent probes = lost')
          .default(15_000, '15')
          .argParser(parseSeconds),
      )
      .option(...IDENTITY_FLAG)
      .option(...NEW_IDENTITY_FLAG)
      .option('--data-dir <dir>', 'where the outbox, received-message ids and history live (default: $XDG_DATA_HOME/natter/NAME)')
      .option('--no-history', 'keep no history of conversations (the outbox is kept all the same)')
      .addOption(
        new Option('--history-max <MiB>', 'history kept per conversation; past it the oldest lines go, and natter says so')
          .default(16)
          .argParser(parsePositiveInt),
      )
      .addOption(
        new Option('--retry <seconds>', 'first wait before trying again to reach a peer that messages wait for; doubles up to 60 s')
          .default(2_000, '2')
          .argParser(parseSeconds),
      )
      .option('--trust-directory', "with --directory: accept the directory's key even if it differs from the one pinned before", false)
      .option('--json', 'read JSON commands on stdin, write JSON events on stdout (for scripts and bots)', false)
      .addOption(
        new Option(
          '--ui <kind>',
          'full (the full-screen UI, the default in a terminal) or line (one prompt; for screen readers, dumb terminals and scripts)',
        )
          .choices(UI_KINDS)
          .conflicts('json'),
      )
      .option('--no-notify', 'full-screen UI: no bell and no desktop notification for messages')
      .addOption(
        new Option('--scrollback <lines>', 'full-screen UI: lines kept in memory per buffer (older ones stay in the history files)')
          .default(DEFAULT_SCROLLBACK)
          .argParser(parsePositiveInt),
      )
      .addOption(
        new Option('--log-level <level>', 'logs on stderr: trace, debug, info, warn, error, fatal or silent')
          .default('error')
          .argParser(parseLogLevel),
      )
      // chat is the default command, so a mistyped command name arrives here as an argument.
      .allowExcessArguments(true)
      .action(async (flags: ChatFlags, command: Command) => {
        const [stray] = command.args;
        if (stray !== undefined) {
          const names = command.parent?.commands.map((c) => c.name()) ?? ['chat'];
          throw new NatterError(
            ERROR_CODES.UNKNOWN_COMMAND,
            `unknown command '${stray}'; the commands are ${names.join(', ')}; natter --help says more`,
          );
        }
        const logger = stderrLogger(flags.logLevel, 'natter-chat');
        let name: string;
        try {
          name = normalizeName(flags.name ?? defaultName(), 32);
        } catch (cause) {
          throw new NatterError(ERROR_CODES.INVALID_NAME, `--name: ${(cause as Error).message}`, { cause });
        }
        const kind = flags.json ? 'json' : uiKind(flags.ui);
        let find: FindPeers;
        if (flags.friends !== undefined) find = { kind: 'friends', table: FriendsTable.load(flags.friends), file: flags.friends };
        else if (flags.directory !== undefined) find = { kind: 'directory', directory: flags.directory };
        else find = { kind: 'local', rendezvous: flags.localDirectory };
        const { keyPair, known } = loadCredentials(flags);
        const dataDir = flags.dataDir ?? defaultDataDir(name);
        const store = FileMessageStore.open({ dir: dataDir, isHistoryOn: flags.history, historyMaxBytes: flags.historyMax * 1024 * 1024 });
        let roomStore: FileRoomStore;
        try {
          roomStore = new FileRoomStore(dataDir);
        } catch (err) {
          store.close();
          throw err;
        }
        let started: Awaited<ReturnType<typeof startChat>>;
        try {
          started = await startChat({
            name,
            find,
            keyPair,
            known,
            isTrustingDirectory: flags.trustDirectory,
            // With neither a directory nor a friends table, two people on one network meet with no setup at all.
            isLanOn: flags.lan ?? find.kind === 'local',
            listenHost: flags.listen,
            isAutoAccept: flags.autoAccept,
            maxChats: flags.maxChats,
            idleTimeoutMs: flags.idleTimeout,
            keepaliveIntervalMs: flags.keepalive,
            store,
            roomStore,
            maxRoomMembers: flags.maxRoomMembers,
            retryIntervalMs: flags.retry,
            logger,
          });
        } catch (err) {
          store.close();
          roomStore.close();
          throw err;
        }
        const { session, ready } = started;
        const ui = flags.json
          ? new JsonUi(session)
          : kind === 'full'
            ? new FullScreenUi(session, { scrollback: flags.scrollback, isNotifying: flags.notify })
            : new LineUi(session);
        process.once('SIGTERM', () => void session.quit());
        process.once('SIGINT', () => void session.quit());
        // Whoever reads our output went away (a script closed the pipe): leave cleanly instead of dying on EPIPE.
        process.stdout.on('error', () => void session.quit());
        const code = await runChatUi(session, ui, ready);
        roomStore.close();
        // Let stdout drain before main.ts exits the process.
        await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
        if (code !== 0) process.exitCode = code;
      })
  );
}

/** --max-room-members: a whole number from 2 to 32 (no room is ever larger). */
function parseRoomMembers(raw: string): number {
  const n = /^\d{1,2}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(n >= 2 && n <= 32)) throw new InvalidArgumentError('a number of members from 2 to 32');
  return n;
}
