/**
 * The line UI of `natter chat`: one prompt, always ready. Incoming lines are
 * printed above it, and whatever is half typed is redrawn intact below them.
 * Colours only when stdout is a terminal and NO_COLOR is not set.
 */
import { clearScreenDown, createInterface, cursorTo, moveCursor, type Interface } from 'node:readline';
import { styleText } from 'node:util';
import { NatterError } from '../../errors.ts';
import type { ChatEvent, ReadyEvent } from '../../chat/events.ts';
import type { ChatCommands, ChatUi } from '../../chat/ui.ts';
import { CommandQueue } from './command-queue.ts';
import { HELP, parseTyped } from './input.ts';
import { sanitize } from './sanitize.ts';
import { DELIVERED_MARK_MS, MOVED, PATH_NOTE, describeKey, formatTime, outboxLines, plural, whoLines } from './words.ts';

type Style = Parameters<typeof styleText>[0];

export class LineUi implements ChatUi {
  readonly #session: ChatCommands;
  readonly #out: NodeJS.WriteStream;
  readonly #rl: Interface;
  readonly #isTerminal: boolean;
  readonly #isColor: boolean;
  /**
   * Where a plain line goes. Only the user changes it (/switch, friend/message,
   * /connect, /accept, each only when it succeeds); nothing that arrives does.
   */
  #current: string | undefined;
  /** The conversation a command of the user's is about to make current, if it succeeds. */
  #choosing: string | undefined;
  /** Chats open now, in the order they opened: what /switch can offer when the current one ends. */
  readonly #open = new Set<string>();
  readonly #recovered = new Map<string, number>();
  readonly #delivered = new Map<string, number>();
  /** Friends whose messages wait (told by a 'waiting' event), and how many. */
  readonly #waiting = new Map<string, number>();
  #deliveredTimer: NodeJS.Timeout | undefined;
  /** Room messages of ours, and how many members hold each so far. */
  readonly #roomDelivered = new Map<string, number>();
  /** Room invitations waiting for an answer: id to name (/decline NAME answers them before a chat request). */
  readonly #invitations = new Map<string, string>();

  constructor(session: ChatCommands, input: NodeJS.ReadStream = process.stdin, output: NodeJS.WriteStream = process.stdout) {
    this.#session = session;
    this.#out = output;
    this.#isTerminal = Boolean(input.isTTY && output.isTTY);
    const noColor = process.env.NO_COLOR;
    this.#isColor = Boolean(output.isTTY) && (noColor === undefined || noColor === '');
    this.#rl = createInterface({ input, output, terminal: this.#isTerminal, prompt: '> ' });
    new CommandQueue(
      this.#rl,
      (line) => this.#onLine(line),
      () => void session.quit(),
    );
    this.#rl.on('SIGINT', () => void session.quit());
  }

  start(ready: ReadyEvent): void {
    this.#print(`natter: ${ready.name} ready at ${ready.ip}:${ready.port} via ${ready.via}. Type /help for commands.`, 'bold');
    this.#setPrompt();
    this.#rl.prompt();
  }

  /** After start(): says what an earlier run left in the outbox (the session announces it). */
  caughtUp(): void {
    for (const [to, n] of this.#recovered) {
      this.#print(
        `* ${plural(n, 'message')} to ${to} from last time ${n === 1 ? 'waits' : 'wait'} in the outbox; ${n === 1 ? 'it leaves' : 'they leave'} when ${to} can be reached (/drop ${to} cancels ${n === 1 ? 'it' : 'them'})`,
        'yellow',
      );
    }
    this.#recovered.clear();
  }

  /**
   * Delivery is marked quietly: one dim line per peer for the receipts of a
   * moment (a burst of messages gets one mark, not one line each).
   */
  #markDelivered(to: string): void {
    const n = this.#delivered.get(to) ?? 0;
    this.#delivered.set(to, n + 1);
    if (this.#deliveredTimer !== undefined) return;
    this.#deliveredTimer = setTimeout(() => {
      this.#deliveredTimer = undefined;
      for (const [peer, count] of this.#delivered) this.#print(`  ✓ ${peer} has ${count === 1 ? 'it' : `all ${count}`}`, 'dim');
      this.#delivered.clear();
    }, DELIVERED_MARK_MS);
    this.#deliveredTimer.unref();
  }

  close(): void {
    clearTimeout(this.#deliveredTimer);
    for (const [peer, count] of this.#delivered) this.#print(`  ✓ ${peer} has ${count === 1 ? 'it' : `all ${count}`}`, 'dim');
    this.#delivered.clear();
    // The shell's prompt comes next: leave it a clean line, not natter's prompt line.
    if (this.#isTerminal) this.#clearInput();
    this.#rl.close();
  }

  /** Erases the prompt and whatever is typed after it, every row of it, leaving the cursor at the start of its first row. */
  #clearInput(): void {
    moveCursor(this.#out, 0, -this.#rl.getCursorPos().rows);
    cursorTo(this.#out, 0);
    clearScreenDown(this.#out);
  }

  #style(style: Style, text: string): string {
    return this.#isColor ? styleText(style, text, { validateStream: false }) : text;
  }

  /**
   * Prints a line above the prompt, keeping the half-typed input. The text is
   * sanitised first: reasons, notices and errors may carry words from the
   * network (a peer's or a directory's ERROR frame), not only messages.
   */
  #print(text: string, style?: Style): void {
    const safe = sanitize(text);
    this.#emitLine(style === undefined ? safe : this.#style(style, safe));
  }

  #emitLine(line: string): void {
    if (!this.#isTerminal) {
      this.#out.write(`${line}\n`);
      return;
    }
    // The input may wrap over several rows: clear them all, print above, then draw it again.
    this.#clearInput();
    this.#out.write(`${line}\n`);
    // readline redraws by first moving up to where it thinks the prompt starts; it starts here now.
    (this.#rl as unknown as { prevRows: number }).prevRows = 0;
    this.#rl.prompt(true);
  }

  #setPrompt(): void {
    this.#rl.setPrompt(this.#current === undefined ? '> ' : `${this.#current}> `);
  }

  #switch(name: string): void {
    this.#current = name;
    this.#setPrompt();
  }

  event(e: ChatEvent): void {
    switch (e.type) {
      case 'request':
        this.#print(`${e.from} wants to chat: /accept ${e.from} or /decline ${e.from}`, 'yellow');
        return;
      case 'connected': {
        this.#waiting.delete(e.with);
        this.#open.add(e.with);
        const open = `* chat with ${e.with} is open${PATH_NOTE[e.link]}`;
        this.#print(
          this.#current === e.with || this.#choosing === e.with ? open : `${open}; ${e.with}/message or /switch ${e.with} to talk there`,
          'green',
        );
        return;
      }
      case 'moved':
        this.#print(`* the chat with ${e.with} ${MOVED[e.link]}`, 'dim');
        return;
      case 'declined':
        this.#print(e.reason === 'busy' ? `${e.by} is busy` : `${e.by} declined the chat: ${e.reason}`, 'yellow');
        return;
      case 'message':
        this.#emitLine(`Message from ${this.#style('cyan', sanitize(e.from))}: ${sanitize(e.text)}`);
        return;
      case 'queued': {
        if ('room' in e) return;
        if (e.recovered === true) {
          this.#recovered.set(e.to, (this.#recovered.get(e.to) ?? 0) + 1);
          return;
        }
        // Said once when the friend turned out unreachable; each later message gets a short word.
        const waiting = this.#waiting.get(e.to);
        if (waiting !== undefined) {
          this.#waiting.set(e.to, waiting + 1);
          this.#print(`* queued for ${e.to} (${plural(waiting + 1, 'message')} waiting)`, 'dim');
        }
        return;
      }
      case 'sent':
        return;
      case 'delivered':
        if ('room' in e) {
          // One quiet mark per message, once every member has it.
          const n = (this.#roomDelivered.get(e.id) ?? 0) + 1;
          if (n < e.members) this.#roomDelivered.set(e.id, n);
          else {
            this.#roomDelivered.delete(e.id);
            this.#print(`  ✓ [#${sanitize(e.name)}] ${n === 1 ? `${sanitize(e.to)} has it` : `all ${n} members have it`}`, 'dim');
          }
          return;
        }
        this.#waiting.delete(e.to);
        this.#markDelivered(e.to);
        return;
      case 'waiting': {
        this.#waiting.set(e.to, e.count);
        const waits = e.count === 1 ? '1 message waits and leaves' : `${e.count} messages wait and leave`;
        if (e.code === 'NATTER_ERR_KEY_MISMATCH') {
          // The refusal itself was just printed in full; say only what happens to the messages.
          this.#print(
            `* ${waits} when ${e.to}'s key is settled (/whois ${e.to}, /trust ${e.to}); /drop ${e.to} cancels ${e.count === 1 ? 'it' : 'them'}`,
            'dim',
          );
        } else if (e.unknown === true) {
          this.#print(
            `* ${e.to} has never been seen here: ${e.reason}. ${waits} if ${e.to} ever comes online; if the name is a typo, /drop ${e.to}`,
            'yellow',
          );
        } else {
          this.#print(`* ${e.to} cannot be reached now: ${e.reason}. ${waits} when ${e.to} can be reached`, 'dim');
        }
        return;
      }
      case 'kept':
        this.#print(
          `* ${plural(e.count, 'message')} to ${e.to} ${e.count === 1 ? 'stays queued; it leaves' : 'stay queued; they leave'} when natter runs again and ${e.to} can be reached`,
          'yellow',
        );
        return;
      case 'outbox':
        if (e.waiting.length === 0) this.#print('* the outbox is empty');
        else {
          this.#print('* waiting in the outbox:');
          for (const line of outboxLines(e)) this.#print(line);
          this.#print('  /drop NAME cancels what waits for NAME', 'dim');
        }
        return;
      case 'dropped':
        this.#waiting.delete(e.to);
        this.#print(e.count === 0 ? `* nothing waits for ${e.to}` : `* dropped ${plural(e.count, 'message')} to ${e.to}`, 'yellow');
        return;
      case 'history':
        if (e.entries.length === 0) this.#print(`* no history with ${e.with}`, 'dim');
        for (const h of e.entries) {
          const who = h.dir === 'in' ? sanitize(e.with) : 'you';
          // The time it was sent or received here, as the order is: the sender's clock may be off.
          this.#emitLine(
            `${this.#style('dim', formatTime(h.at ?? h.ts))} ${h.dir === 'in' ? this.#style('cyan', who) : who}: ${sanitize(h.text)}`,
          );
        }
        return;
      case 'ended': {
        this.#open.delete(e.with);
        const what =
          e.reason === 'remote' ? `* ${e.with} ended the chat` : e.reason === 'local' ? `* chat with ${e.with} ended` : `* ${e.reason}`;
        if (this.#current !== e.with) {
          this.#print(what, 'dim');
          return;
        }
        this.#current = undefined;
        this.#setPrompt();
        const others = [...this.#open];
        this.#print(
          others.length === 0
            ? `${what}; no current conversation now`
            : `${what}; no current conversation now: /switch ${others.at(-1) as string} to go on there (open: ${others.join(', ')})`,
          'yellow',
        );
        return;
      }
      case 'who':
        if (e.peers.length === 0) this.#print('nobody else is online');
        for (const line of whoLines(e)) this.#print(line);
        return;
      case 'whois':
        for (const line of describeKey(e)) this.#print(line);
        return;
      case 'trusted':
        this.#print(
          `* ${sanitize(e.name)}'s key is now ${e.fingerprint}${e.previous === undefined ? '' : ` (it was ${e.previous})`}; pinned`,
          'green',
        );
        return;
      case 'shutdown':
        this.#print('* the directory is shutting natter down; bye', 'yellow');
        return;
      case 'notice':
        this.#print(`* ${e.message}`, 'dim');
        return;
      case 'error':
        this.#print(`! ${e.message}`, 'red');
        return;
      case 'doctor':
        for (const line of e.lines) this.#print(line, line.startsWith('!') ? 'yellow' : undefined);
        return;
      case 'dump':
        this.#print(JSON.stringify(e));
        return;
      case 'room-joined':
        this.#invitations.delete(e.room);
        this.#print(
          `* you are in #${sanitize(e.name)} (${e.room}) with ${e.members.map(sanitize).join(', ')}; #${sanitize(e.name)}/message to talk there`,
          'green',
        );
        return;
      case 'room-invite':
        this.#invitations.set(e.room, e.name);
        this.#print(
          `${sanitize(e.from)} invites you to #${sanitize(e.name)}: /join ${sanitize(e.name)} or /decline #${sanitize(e.name)}`,
          'yellow',
        );
        return;
      case 'room-message':
        this.#emitLine(
          `[#${sanitize(e.name)}] ${this.#style('cyan', sanitize(e.from))}: ${sanitize(e.text)}${e.late === true ? this.#style('dim', ' (late)') : ''}`,
        );
        return;
      case 'room-members':
        this.#print(
          `* #${sanitize(e.name)}: ${e.members.map((m) => `${sanitize(m)}${e.admins.includes(m) ? '*' : ''}${e.online.includes(m) ? '+' : ''}`).join(', ')}`,
        );
        return;
      case 'room-left':
        this.#print(e.reason === 'left' ? `* you left #${sanitize(e.name)}` : `* you were removed from #${sanitize(e.name)}`, 'yellow');
        return;
      case 'room-history':
        if (e.entries.length === 0) this.#print(`* no messages in #${sanitize(e.name)}`, 'dim');
        for (const h of e.entries)
          this.#emitLine(`${this.#style('dim', formatTime(h.ts))} [#${sanitize(e.name)}] ${sanitize(h.from)}: ${sanitize(h.text)}`);
        return;
      case 'room-list':
        if (e.rooms.length === 0) this.#print('* no rooms: /room create NAME makes one');
        for (const r of e.rooms)
          this.#print(`  #${sanitize(r.name)}  ${r.room}  ${r.status === 'invited' ? 'invited' : plural(r.members, 'member')}`);
        return;
      case 'ready':
      case 'directory':
        return;
    }
  }

  /** Runs a command that makes `name` current if it succeeds (events it causes meanwhile already count it as chosen). */
  async #choose(name: string | undefined, command: () => Promise<boolean>): Promise<boolean> {
    this.#choosing = name;
    try {
      return await command();
    } finally {
      this.#choosing = undefined;
    }
  }

  async #onLine(line: string): Promise<void> {
    let cmd: ReturnType<typeof parseTyped>;
    try {
      cmd = parseTyped(line);
    } catch (err) {
      if (!(err instanceof NatterError)) throw err;
      this.#print(`! ${err.message}`, 'red');
      this.#rl.prompt();
      return;
    }
    const s = this.#session;
    switch (cmd.kind) {
      case 'empty':
        break;
      case 'send': {
        const to = cmd.to ?? this.#current;
        if (to === undefined) {
          this.#print('! no current conversation: type friend/message, or /switch NAME first', 'red');
          break;
        }
        // `/switch #club` makes a room the current conversation.
        if (cmd.to === undefined && to.startsWith('#')) {
          await s.room({ cmd: 'room-send', room: to.slice(1), text: cmd.text });
          break;
        }
        // The conversation changes only when the message went into it.
        if (await this.#choose(cmd.to, () => s.send(to, cmd.text))) this.#switch(to);
        break;
      }
      case 'connect':
        if (await this.#choose(cmd.name, () => s.connect(cmd.name))) this.#switch(cmd.name);
        break;
      case 'accept':
        if (await this.#choose(cmd.name, () => s.accept(cmd.name))) this.#switch(cmd.name);
        break;
      case 'outbox':
        s.outbox();
        break;
      case 'doctor':
        this.#print("* checking: the directory, this machine's address, whether peers can reach it...", 'dim');
        await s.doctor();
        break;
      case 'drop':
        await s.drop(cmd.name);
        break;
      case 'decline': {
        const name = cmd.name;
        const isRoom = [...this.#invitations].some(([id, room]) => id === name || room === name);
        if (isRoom) {
          if (await s.room({ cmd: 'room-decline', room: name })) {
            for (const [id, room] of this.#invitations) if (id === name || room === name) this.#invitations.delete(id);
            this.#print(`* declined the invitation to #${sanitize(name)}`, 'dim');
          }
        } else await s.decline(name);
        break;
      }
      case 'room':
        if (cmd.command.cmd === 'room-decline') {
          const ref = cmd.command.room;
          if (await s.room(cmd.command)) {
            for (const [id, room] of this.#invitations) if (id === ref || room === ref) this.#invitations.delete(id);
            this.#print(`* declined the invitation to #${sanitize(ref)}`, 'dim');
          }
        } else await s.room(cmd.command);
        break;
      case 'switch':
        if (cmd.name === s.name) this.#print('! that is you: /switch to someone else', 'red');
        else this.#switch(cmd.name);
        break;
      case 'whois':
        await s.whois(cmd.name);
        break;
      case 'history':
        await s.history(cmd.name, cmd.count);
        break;
      case 'trust':
        await s.trust(cmd.name);
        break;
      case 'end': {
        const name = cmd.name ?? this.#current;
        if (name === undefined) this.#print('! usage: /end NAME (there is no current conversation)', 'red');
        else await s.end(name);
        break;
      }
      case 'who':
        await s.who();
        break;
      case 'help':
        for (const h of HELP) this.#print(h);
        break;
      case 'quit':
        await s.quit();
        return;
    }
    this.#rl.prompt(true);
  }
}
