/**
 * What the user enters in the full-screen UI, run one thing at a time and
 * in order: typed lines (the commands every UI has, input.ts, and the
 * full-screen UI's own /mute and /unmute) and confirmed pastes. Answers and
 * errors go to the buffer where it was entered; a command that succeeds in
 * choosing a conversation shows its buffer.
 */
import type { ChatCommands } from '../../../chat/ui.ts';
import { NatterError } from '../../../errors.ts';
import { checkTyped, parseTyped } from '../input.ts';
import type { ChatBuffer } from './buffers.ts';
import type { ChatView } from './chat-view.ts';
import { STYLE } from './styles.ts';

/** What the runner asks of the UI around it. */
export interface RunnerHooks {
  mute(name: string): void;
  /** False when `name` was not muted. */
  unmute(name: string): boolean;
  /** Opens the conversation's buffer and shows it. */
  showOpen(name: string): void;
  help(): void;
  quit(): Promise<void>;
  /** Something changed that the screen should show. */
  changed(): void;
}

export class CommandRunner {
  readonly #s: ChatCommands;
  readonly #view: ChatView;
  readonly #ui: RunnerHooks;
  /** What the user entered waits here while a command before it runs. */
  readonly #jobs: (() => Promise<void>)[] = [];
  #isRunning = false;

  constructor(commands: ChatCommands, view: ChatView, hooks: RunnerHooks) {
    this.#s = commands;
    this.#view = view;
    this.#ui = hooks;
  }

  /** A typed line. */
  line(line: string): void {
    this.#inOrder(() => this.#run(line));
  }

  /** Pasted lines, confirmed: each a message to `to` as it stands, never a command, whatever it starts with. */
  paste(lines: readonly string[], to: string, from: ChatBuffer): void {
    this.#inOrder(async () => {
      this.#view.replyTo = from;
      const room = this.#view.roomOf(from);
      for (const line of lines)
        if (!(await (room === undefined ? this.#s.send(to, line) : this.#s.room({ cmd: 'room-send', room, text: line })))) break;
    });
  }

  #inOrder(job: () => Promise<void>): void {
    this.#jobs.push(job);
    if (!this.#isRunning) void this.#drain();
  }

  async #drain(): Promise<void> {
    this.#isRunning = true;
    for (let job = this.#jobs.shift(); job !== undefined; job = this.#jobs.shift()) {
      try {
        await job();
      } finally {
        this.#view.replyTo = undefined;
        this.#ui.changed();
      }
    }
    this.#isRunning = false;
  }

  async #run(line: string): Promise<void> {
    const view = this.#view;
    const s = this.#s;
    const here = view.shown;
    view.replyTo = here;
    const own = /^\/(mute|unmute)(?:\s+(\S+))?\s*$/i.exec(line.trim());
    if (own !== null) {
      const name = own[2];
      if (name === undefined) view.say(`! usage: /${own[1]?.toLowerCase()} NAME`, STYLE.error);
      else if (own[1]?.toLowerCase() === 'mute') {
        this.#ui.mute(name);
        view.say(`* no bell or notification for ${name} (/unmute ${name} to have them again)`);
      } else view.say(this.#ui.unmute(name) ? `* ${name} rings again` : `* ${name} was not muted`);
      return;
    }
    let cmd: ReturnType<typeof parseTyped>;
    try {
      cmd = parseTyped(line);
    } catch (err) {
      if (!(err instanceof NatterError)) throw err;
      view.say(`! ${err.message}`, STYLE.error);
      return;
    }
    switch (cmd.kind) {
      case 'empty':
        return;
      case 'send': {
        const to = cmd.to ?? view.conversation;
        if (to === undefined) {
          view.say('! no conversation here: type friend/message, or show one (Alt-2.., /switch NAME)', STYLE.error);
          return;
        }
        checkTyped(cmd.text);
        const room = cmd.to === undefined ? view.roomOf(here) : undefined;
        if (room !== undefined) {
          await s.room({ cmd: 'room-send', room, text: cmd.text });
          return;
        }
        // A message to someone else shows their buffer once it went into it.
        if ((await s.send(to, cmd.text)) && cmd.to !== undefined) this.#ui.showOpen(cmd.to);
        return;
      }
      case 'connect':
      case 'accept':
        if (await s[cmd.kind](cmd.name)) this.#ui.showOpen(cmd.name);
        return;
      case 'decline':
      case 'whois':
      case 'trust':
      case 'drop':
        await s[cmd.kind](cmd.name);
        return;
      case 'switch': {
        const index = view.find(cmd.name);
        if (cmd.name === s.name) view.say('! that is you: /switch to someone else', STYLE.error);
        else if (index >= 0) view.show(index);
        else this.#ui.showOpen(cmd.name);
        return;
      }
      case 'history':
        await s.history(cmd.name, cmd.count);
        return;
      case 'end': {
        const name = cmd.name ?? view.conversation;
        if (name === undefined) view.say('! usage: /end NAME (this is not a conversation)', STYLE.error);
        else await s.end(name);
        return;
      }
      case 'who':
        await s.who();
        return;
      case 'outbox':
        s.outbox();
        return;
      case 'doctor':
        view.say("* checking: the directory, this machine's address, whether peers can reach it...", STYLE.dim);
        this.#ui.changed();
        await s.doctor();
        return;
      case 'help':
        this.#ui.help();
        return;
      case 'quit':
        await this.#ui.quit();
        return;
      case 'room':
        await s.room(cmd.command);
        return;
    }
  }
}
