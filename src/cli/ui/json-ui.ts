/**
 * `natter chat --json`: one JSON command per line on stdin, one JSON event
 * per line on stdout and nothing else there (docs/chat.md, "Scripting").
 * A line that is not a valid command is answered with an error event.
 */
import { createInterface, type Interface } from 'node:readline';
import { ERROR_CODES, NatterError } from '../../errors.ts';
import type { ChatEvent, ReadyEvent } from '../../chat/events.ts';
import type { ChatCommands, ChatUi, RoomCommand } from '../../chat/ui.ts';
import { CommandQueue } from './command-queue.ts';
import { DEFAULT_HISTORY_LINES, MAX_HISTORY_LINES, checkTyped } from './input.ts';

type Command =
  | { cmd: 'who' }
  | { cmd: 'connect'; to: string }
  | { cmd: 'accept' | 'decline'; from: string }
  | { cmd: 'send'; to: string; text: string }
  | { cmd: 'end'; with: string }
  | { cmd: 'dump' }
  | { cmd: 'whois' | 'trust'; name: string }
  | { cmd: 'history'; with: string; count?: number }
  | { cmd: 'outbox' }
  | { cmd: 'doctor' }
  | { cmd: 'drop'; to: string }
  | { cmd: 'quit' }
  | RoomCommand;

const FIELDS: Record<Command['cmd'], string[]> = {
  who: [],
  connect: ['to'],
  accept: ['from'],
  decline: ['from'],
  send: ['to', 'text'],
  end: ['with'],
  dump: [],
  whois: ['name'],
  trust: ['name'],
  history: ['with'],
  outbox: [],
  doctor: [],
  drop: ['to'],
  quit: [],
  'room-create': ['name'],
  'room-invite': ['room', 'to'],
  'room-join': ['room'],
  'room-decline': ['room'],
  'room-send': ['room', 'text'],
  'room-leave': ['room'],
  'room-kick': ['room', 'name'],
  'room-members': ['room'],
  'room-history': ['room'],
  'room-list': [],
};

/** Parses one line into a command. @throws NatterError NATTER_ERR_BAD_COMMAND or NATTER_ERR_UNKNOWN_COMMAND */
export function parseJsonCommand(line: string): Command {
  let data: unknown;
  try {
    data = JSON.parse(line);
  } catch {
    throw new NatterError(ERROR_CODES.BAD_COMMAND, 'not a JSON object: expected {"cmd": ...} on one line');
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new NatterError(ERROR_CODES.BAD_COMMAND, 'expected a JSON object with a "cmd" field');
  }
  const cmd = (data as { cmd?: unknown }).cmd;
  if (typeof cmd !== 'string') throw new NatterError(ERROR_CODES.BAD_COMMAND, 'missing "cmd"');
  const fields = FIELDS[cmd as Command['cmd']] as string[] | undefined;
  if (fields === undefined || !Object.hasOwn(FIELDS, cmd)) {
    throw new NatterError(ERROR_CODES.UNKNOWN_COMMAND, `unknown cmd "${cmd}"; one of ${Object.keys(FIELDS).join(', ')}`);
  }
  for (const f of fields) {
    if (typeof (data as Record<string, unknown>)[f] !== 'string') {
      throw new NatterError(ERROR_CODES.BAD_COMMAND, `"${cmd}" needs a string "${f}"`);
    }
  }
  if (cmd === 'history' || cmd === 'room-history') {
    const count = (data as { count?: unknown }).count;
    if (count !== undefined && !(Number.isInteger(count) && (count as number) >= 1 && (count as number) <= MAX_HISTORY_LINES)) {
      throw new NatterError(ERROR_CODES.BAD_COMMAND, `"${cmd}" takes an optional "count" from 1 to ${MAX_HISTORY_LINES}`);
    }
  }
  return data as Command;
}

export class JsonUi implements ChatUi {
  readonly #session: ChatCommands;
  readonly #out: NodeJS.WritableStream;
  readonly #rl: Interface;
  /** True while stdout is full and peers are not read. */
  #isOutputFull = false;

  constructor(session: ChatCommands, input: NodeJS.ReadableStream = process.stdin, output: NodeJS.WritableStream = process.stdout) {
    this.#session = session;
    this.#out = output;
    this.#rl = createInterface({ input, terminal: false });
    new CommandQueue(
      this.#rl,
      (line) => this.#onLine(line),
      () => void session.quit(),
    );
  }

  start(ready: ReadyEvent): void {
    this.#write(ready);
  }

  event(e: ChatEvent): void {
    // Told by notices already; the JSON mode's events stay the documented set (docs/chat.md).
    if (e.type === 'directory') return;
    this.#write(e);
  }

  /** The JSON mode tells of recovered messages through their queued events alone. */
  caughtUp(): void {}

  close(): void {
    this.#rl.close();
  }

  /**
   * Writes one event. When whoever reads stdout falls behind, peers are not
   * read until it catches up: messages wait in the network, not in memory.
   */
  #write(event: ChatEvent): void {
    if (this.#out.write(`${JSON.stringify(event)}\n`) || this.#isOutputFull) return;
    this.#isOutputFull = true;
    this.#session.pauseIncoming();
    this.#out.once('drain', () => {
      this.#isOutputFull = false;
      this.#session.resumeIncoming();
    });
  }

  async #onLine(line: string): Promise<void> {
    if (line.trim() === '') return;
    let c: Command;
    try {
      c = parseJsonCommand(line);
      if (c.cmd === 'send' || c.cmd === 'room-send') checkTyped(c.text);
    } catch (err) {
      if (!(err instanceof NatterError)) throw err;
      this.#write({ type: 'error', code: err.code, message: err.message });
      return;
    }
    const s = this.#session;
    switch (c.cmd) {
      case 'who':
        return void (await s.who());
      case 'connect':
        return void (await s.connect(c.to));
      case 'accept':
        return void (await s.accept(c.from));
      case 'decline':
        return void (await s.decline(c.from));
      case 'send':
        return void (await s.send(c.to, c.text));
      case 'end':
        return void (await s.end(c.with));
      case 'dump':
        return s.dump();
      case 'whois':
        return void (await s.whois(c.name));
      case 'trust':
        return void (await s.trust(c.name));
      case 'history':
        return void (await s.history(c.with, c.count ?? DEFAULT_HISTORY_LINES));
      case 'outbox':
        return s.outbox();
      case 'doctor':
        return void (await s.doctor());
      case 'drop':
        return void (await s.drop(c.to));
      case 'quit':
        return s.quit();
      default:
        return void (await s.room(c));
    }
  }
}
