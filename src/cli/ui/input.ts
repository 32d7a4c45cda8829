/**
 * The typed line of `natter chat` (docs/chat.md, "Typing"): commands start
 * with "/", `friend/message` addresses a friend, anything else goes to the
 * current conversation.
 */
import { ERROR_CODES, NatterError } from '../../errors.ts';
import type { RoomCommand } from '../../chat/ui.ts';
import { normalizeName } from '../../protocol/fields.ts';

/** The longest message a person may type, in characters (Unicode code points). */
export const MAX_TYPED_CHARS = 250;

export type TypedCommand =
  | { kind: 'send'; to: string | undefined; text: string }
  | { kind: 'connect' | 'accept' | 'decline' | 'switch' | 'whois' | 'trust' | 'drop'; name: string }
  | { kind: 'end'; name: string | undefined }
  | { kind: 'history'; name: string; count: number }
  | { kind: 'who' | 'help' | 'quit' | 'outbox' | 'doctor' }
  | { kind: 'room'; command: RoomCommand }
  | { kind: 'empty' };

const NAMED = ['connect', 'accept', 'decline', 'switch', 'whois', 'trust', 'drop'] as const;

/** What /help shows: each input form and what it does, in two aligned columns. */
export const HELP_ENTRIES: readonly (readonly [string, string])[] = [
  ['friend/message', 'send message to friend (opens the chat if needed)'],
  ['message', 'send to the current conversation'],
  ['/connect NAME', 'ask NAME to chat'],
  ['/accept NAME', 'accept a chat request'],
  ['/decline NAME', 'decline a chat request'],
  ['/switch NAME', 'make NAME the current conversation'],
  ['/end [NAME]', 'end the chat with NAME (or the current one)'],
  ['/who', 'who is online (or your friends), and which members of your rooms are reachable'],
  ['/whois NAME', "NAME's key fingerprint, and whether it is pinned or verified"],
  ['/trust NAME', "accept NAME's new key (after checking its fingerprint with them)"],
  ['/history NAME [N]', 'the last N lines (default 20) of your conversation with NAME'],
  ['/outbox', 'what waits to be delivered, per name'],
  ['#ROOM/message', 'send message to everyone in ROOM (a room name, or its id)'],
  ['/room create NAME', 'make a room; you are its admin'],
  ['/rooms', 'the rooms you are in or invited to'],
  ['/invite ROOM NAME', 'invite NAME to ROOM (admins)'],
  ['/join ROOM', 'accept an invitation to ROOM'],
  ['/decline ROOM', 'decline an invitation to ROOM (#ROOM when a friend has that name too)'],
  ['/leave ROOM', 'leave ROOM'],
  ['/kick ROOM NAME', 'remove NAME from ROOM (admins)'],
  ['/members ROOM', "ROOM's members; * marks admins"],
  ['/history #ROOM [N]', 'the last N messages of ROOM, in the order every member agrees on'],
  ['/drop NAME', 'cancel every message waiting for NAME'],
  ['/doctor', 'check the directory, NAT and whether peers can reach you'],
  ['/help', 'this help'],
  ['/quit', 'end every chat and leave'],
];

/** Rows of text in columns: each column as wide as its widest cell, two spaces apart; the last column is not padded. */
export function columns(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, [...cell].length);
  }
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - [...cell].length)))
      .join('  ')
      .trimEnd(),
  );
}

export const HELP = columns(HELP_ENTRIES);

function name(raw: string, command: string): string {
  if (raw === '') throw new NatterError(ERROR_CODES.BAD_COMMAND, `usage: /${command} NAME`);
  try {
    return normalizeName(raw, 32);
  } catch {
    throw new NatterError(ERROR_CODES.BAD_COMMAND, `"${raw}" is not a valid name`);
  }
}

/** Lines /history shows when not told how many. */
export const DEFAULT_HISTORY_LINES = 20;
/** The most lines /history shows at once. */
export const MAX_HISTORY_LINES = 10_000;

/** A count of history lines: a whole number from 1 to MAX_HISTORY_LINES. */
export function parseHistoryCount(raw: string): number {
  const n = /^\d{1,6}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(n >= 1 && n <= MAX_HISTORY_LINES)) {
    throw new NatterError(
      ERROR_CODES.BAD_COMMAND,
      `usage: /history NAME [N], N a number of lines from 1 to ${MAX_HISTORY_LINES}; got "${raw}"`,
    );
  }
  return n;
}

/** Checks a message's length; the limit is on what a person typed, in characters. */
export function checkTyped(text: string): string {
  const chars = [...text].length;
  if (chars > MAX_TYPED_CHARS) {
    throw new NatterError(ERROR_CODES.MESSAGE_TOO_LONG, `message is ${chars} characters, the limit is ${MAX_TYPED_CHARS}; it was not sent`);
  }
  return text;
}

/** A line that starts with a URL ("https://...") is a message, not an address. */
const URL_START = /^[a-z][a-z0-9+.-]*:\/\//iu;

/**
 * Where the address of a line ends: the index of the "/" in "bob/hi", or -1
 * for a line with none. A first word that runs into a "/" is an address;
 * words before the slash ("see http://...") or a line that starts with a URL
 * make the whole line a message.
 */
export function addressEnd(line: string): number {
  const slash = line.indexOf('/');
  return slash > 0 && !/\s/u.test(line.slice(0, slash)) && !URL_START.test(line) ? slash : -1;
}

/** Parses one typed line. @throws NatterError for a bad command or an over-long message. */
export function parseTyped(line: string): TypedCommand {
  const trimmed = line.trim();
  if (trimmed === '') return { kind: 'empty' };
  if (trimmed.startsWith('/')) {
    const [head = '', ...rest] = trimmed.slice(1).split(/\s+/);
    const arg = rest.join(' ');
    const command = head.toLowerCase();
    const room = parseRoomCommand(command, rest);
    if (room !== undefined) return { kind: 'room', command: room };
    if (command === 'decline' && arg.startsWith('#'))
      return { kind: 'room', command: { cmd: 'room-decline', room: roomRef(arg, 'decline') } };
    if (command === 'history' && rest[0]?.startsWith('#') === true) {
      const [ref = '', count, ...extra] = rest;
      if (extra.length > 0) throw new NatterError(ERROR_CODES.BAD_COMMAND, 'usage: /history #ROOM [N]');
      return {
        kind: 'room',
        command: {
          cmd: 'room-history',
          room: roomRef(ref, 'history'),
          count: count === undefined ? DEFAULT_HISTORY_LINES : parseHistoryCount(count),
        },
      };
    }
    if ((NAMED as readonly string[]).includes(command)) {
      return { kind: command as (typeof NAMED)[number], name: name(arg, command) };
    }
    if (command === 'history') {
      const [who = '', count, ...extra] = rest;
      if (extra.length > 0) throw new NatterError(ERROR_CODES.BAD_COMMAND, 'usage: /history NAME [N]');
      return { kind: 'history', name: name(who, 'history'), count: count === undefined ? DEFAULT_HISTORY_LINES : parseHistoryCount(count) };
    }
    if (command === 'end') return { kind: 'end', name: arg === '' ? undefined : name(arg, 'end') };
    if (command === 'who' || command === 'help' || command === 'quit' || command === 'outbox' || command === 'doctor')
      return { kind: command };
    throw new NatterError(ERROR_CODES.UNKNOWN_COMMAND, `unknown command /${head}; type /help`);
  }
  const slash = addressEnd(line);
  if (slash > 1 && line.startsWith('#')) {
    // #ROOM/message: a room comes before a friend whose name starts with '#'.
    return {
      kind: 'room',
      command: { cmd: 'room-send', room: roomRef(line.slice(0, slash), 'message'), text: checkTyped(line.slice(slash + 1)) },
    };
  }
  if (slash > 0) {
    const prefix = line.slice(0, slash);
    let to: string;
    try {
      to = normalizeName(prefix, 32);
    } catch (err) {
      // Never send it elsewhere: the user meant it for someone.
      throw new NatterError(ERROR_CODES.INVALID_NAME, `"${prefix}" is not a valid name: ${(err as Error).message}; nothing was sent`);
    }
    return { kind: 'send', to, text: checkTyped(line.slice(slash + 1)) };
  }
  return { kind: 'send', to: undefined, text: checkTyped(line) };
}

/** A room as typed: its id, or its name, with or without '#'. */
function roomRef(raw: string, command: string): string {
  const bare = raw.startsWith('#') ? raw.slice(1) : raw;
  if (bare === '') throw new NatterError(ERROR_CODES.BAD_COMMAND, `usage: /${command} ROOM`);
  try {
    return normalizeName(bare, 32);
  } catch {
    throw new NatterError(ERROR_CODES.BAD_COMMAND, `"${raw}" is not a valid room name or id`);
  }
}

/** The room commands (docs/chat.md, "Rooms"); undefined for any other command. /decline is the caller's: it may be a chat's. */
function parseRoomCommand(command: string, args: readonly string[]): RoomCommand | undefined {
  const [first = '', second = '', ...extra] = args;
  const usage = (form: string): NatterError => new NatterError(ERROR_CODES.BAD_COMMAND, `usage: ${form}`);
  switch (command) {
    case 'room':
      if (first === 'create') {
        if (second === '' || extra.length > 0) throw usage('/room create NAME (one word)');
        return { cmd: 'room-create', name: roomRef(second, 'room create') };
      }
      if (first === 'list' && second === '') return { cmd: 'room-list' };
      throw usage('/room create NAME, or /room list');
    case 'rooms':
      return { cmd: 'room-list' };
    case 'invite':
    case 'kick': {
      if (first === '' || second === '' || extra.length > 0) throw usage(`/${command} ROOM NAME`);
      const who = name(second, command);
      return command === 'invite'
        ? { cmd: 'room-invite', room: roomRef(first, command), to: who }
        : { cmd: 'room-kick', room: roomRef(first, command), name: who };
    }
    case 'join':
    case 'leave':
    case 'members':
      if (first === '' || second !== '') throw usage(`/${command} ROOM`);
      return { cmd: `room-${command}`, room: roomRef(first, command) };
    default:
      return undefined;
  }
}
