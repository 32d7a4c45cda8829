/**
 * What the full-screen UI shows, kept up to date from UI-neutral events:
 * the buffers (status first, then one per conversation in the order they
 * opened), which one is shown, each chat's state for the title bar, and
 * the directory's. Events about a peer go to that peer's buffer, opened
 * without taking focus; answers to a command go where it was typed;
 * everything else goes to the status buffer.
 */
import type { ChatEvent, ChatEventOf, RoomEvent } from '../../../chat/events.ts';
import type { HistoryEntry } from '../../../peer/store/message-store.ts';
import { MOVED, PATH_NOTE, describeKey, outboxLines, plural, whoLines } from '../words.ts';
import { ChatBuffer, STATUS_BUFFER, type Line } from './buffers.ts';
import { STYLE } from './styles.ts';
import type { StyleId } from './text-cells.ts';

export interface ViewOptions {
  self: string;
  /** Lines kept per buffer. */
  scrollback: number;
  /** History lines shown when a conversation's buffer opens. */
  historyLines: number;
  /** The conversation's recent history, from the store. */
  recentHistory: (name: string, count: number) => HistoryEntry[];
  /** Called for a message or request that may call for attention: from whom, into which buffer, and what. */
  onAlert: (from: string, buffer: ChatBuffer, title: string, body: string) => void;
  now?: () => number;
}

export class ChatView {
  readonly buffers: ChatBuffer[];
  #current = 0;
  /** The buffer answers go to while a command of the user's runs. */
  replyTo: ChatBuffer | undefined;
  /** What the title bar says of each conversation. */
  readonly #state = new Map<string, string>();
  /** Peers whose messages wait, and how many (told by 'waiting'). */
  readonly #waiting = new Map<string, number>();
  readonly #recovered = new Map<string, number>();
  /** Room buffers (#NAME) and the room id each shows. */
  readonly #roomIds = new Map<string, string>();
  /** Room messages of ours, and how many members hold each so far. */
  readonly #roomDelivered = new Map<string, number>();
  directory: { address: string; isReachable: boolean } | undefined;
  readonly #o: ViewOptions;
  readonly #now: () => number;

  constructor(o: ViewOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
    this.buffers = [new ChatBuffer(STATUS_BUFFER, o.scrollback, true)];
  }

  get current(): number {
    return this.#current;
  }

  get shown(): ChatBuffer {
    return this.buffers[this.#current] as ChatBuffer;
  }

  get status(): ChatBuffer {
    return this.buffers[0] as ChatBuffer;
  }

  /** The conversation of the shown buffer: where a plain line goes. */
  get conversation(): string | undefined {
    return this.shown.isStatus ? undefined : this.shown.name;
  }

  /** Shows buffer `index`. */
  show(index: number): void {
    if (index < 0 || index >= this.buffers.length) return;
    this.#current = index;
    this.shown.seen();
  }

  /** The buffer of conversation `name`, opened (with its recent history) if it is not yet; shown when `isShown`. */
  open(name: string, isShown = false): ChatBuffer {
    let index = this.buffers.findIndex((b) => !b.isStatus && b.name === name);
    if (index < 0) {
      const buffer = new ChatBuffer(name, this.#o.scrollback);
      for (const h of this.#o.recentHistory(name, this.#o.historyLines)) {
        const isIn = h.dir === 'in';
        // The history does not say what became of an own message: it gets no mark unless the outbox tells more.
        buffer.push({
          kind: isIn ? 'message' : 'own',
          at: h.at ?? h.ts,
          from: isIn ? name : this.#o.self,
          text: h.text,
          style: STYLE.plain,
          id: h.id,
          isHistory: true,
        });
      }
      buffer.unread = 0;
      this.buffers.push(buffer);
      index = this.buffers.length - 1;
    }
    if (isShown) this.show(index);
    return this.buffers[index] as ChatBuffer;
  }

  /** The buffer named `name` (status for "status" unless a conversation has that name), if open. */
  find(name: string): number {
    const index = this.buffers.findIndex((b) => !b.isStatus && b.name === name);
    return index >= 0 || name !== STATUS_BUFFER ? index : 0;
  }

  titleOf(buffer: ChatBuffer): string {
    if (buffer.isStatus) {
      const d = this.directory;
      return d === undefined ? 'notices and answers' : `directory ${d.address}: ${d.isReachable ? 'registered' : 'unreachable, retrying'}`;
    }
    return this.#state.get(buffer.name) ?? 'no chat open';
  }

  /** Adds a line to `buffer`, counting it unread and alerting as it calls for. */
  #add(buffer: ChatBuffer, kind: Line['kind'], text: string, style: StyleId = STYLE.plain, extra: Partial<Line> = {}): void {
    if (!buffer.push({ kind, at: this.#now(), text, style, ...extra })) return;
    if (buffer === this.shown) return;
    if (kind === 'message') buffer.unread++;
    if (kind === 'error') buffer.hasError = true;
  }

  /** Where the answer to a command goes. */
  #reply(): ChatBuffer {
    return this.replyTo ?? this.status;
  }

  say(text: string, style: StyleId = STYLE.plain, buffer = this.#reply()): void {
    this.#add(buffer, style === STYLE.error ? 'error' : 'notice', text, style);
  }

  plain(text: string, buffer = this.#reply()): void {
    this.#add(buffer, 'plain', text);
  }

  /** After the events held at start: what an earlier run left in the outbox. */
  caughtUp(): void {
    for (const [to, n] of this.#recovered) {
      const text = `${plural(n, 'message')} to ${to} from last time ${n === 1 ? 'waits' : 'wait'} in the outbox; ${n === 1 ? 'it leaves' : 'they leave'} when ${to} can be reached (/drop ${to} cancels ${n === 1 ? 'it' : 'them'})`;
      this.say(text, STYLE.warn, this.open(to));
      this.say(text, STYLE.warn, this.status);
    }
    this.#recovered.clear();
  }

  present(e: ChatEvent): void {
    switch (e.type) {
      case 'message': {
        const b = this.open(e.from);
        const before = b.lines.length;
        this.#add(b, 'message', e.text, STYLE.plain, { from: e.from, id: e.id });
        if (b.lines.length !== before) this.#o.onAlert(e.from, b, e.from, e.text);
        return;
      }
      case 'queued': {
        if ('room' in e) {
          this.#roomIds.set(`#${e.name}`, e.room);
          this.open(`#${e.name}`).push({
            kind: 'own',
            at: this.#now(),
            from: this.#o.self,
            text: e.text,
            style: STYLE.plain,
            id: e.id,
            delivery: 'pending',
          });
          return;
        }
        const b = this.open(e.to);
        const isWaiting = e.recovered === true || this.#waiting.has(e.to);
        const delivery = isWaiting ? 'waiting' : 'pending';
        // Already there when the buffer opened with it in its history: it is marked now.
        if (
          !b.push({
            kind: 'own',
            at: e.recovered === true ? e.ts : this.#now(),
            from: this.#o.self,
            text: e.text,
            style: STYLE.plain,
            id: e.id,
            delivery,
          })
        )
          b.mark(e.id, delivery);
        if (e.recovered === true) this.#recovered.set(e.to, (this.#recovered.get(e.to) ?? 0) + 1);
        else if (this.#waiting.has(e.to)) this.#waiting.set(e.to, (this.#waiting.get(e.to) ?? 0) + 1);
        return;
      }
      case 'sent':
        return;
      case 'delivered':
        if ('room' in e) {
          // Marked delivered once every member holds it.
          const n = (this.#roomDelivered.get(e.id) ?? 0) + 1;
          if (n < e.members) {
            this.#roomDelivered.set(e.id, n);
            this.open(`#${e.name}`).markHeld(e.id, n, e.members);
          } else {
            this.#roomDelivered.delete(e.id);
            this.open(`#${e.name}`).mark(e.id, 'delivered');
          }
          return;
        }
        this.#waiting.delete(e.to);
        this.open(e.to).mark(e.id, 'delivered');
        return;
      case 'request': {
        const b = this.open(e.from);
        b.hasRequest = true;
        this.#state.set(e.from, `asks to chat: /accept ${e.from} or /decline ${e.from}`);
        this.say(`${e.from} wants to chat: /accept ${e.from} or /decline ${e.from}`, STYLE.warn, b);
        this.#o.onAlert(e.from, b, e.from, 'wants to chat');
        return;
      }
      case 'connected': {
        this.#waiting.delete(e.with);
        const b = this.open(e.with);
        b.hasRequest = false;
        this.#state.set(e.with, `chat open, ${e.link === 'relay' ? 'relayed' : e.link}`);
        this.say(`* chat with ${e.with} is open${PATH_NOTE[e.link]}`, STYLE.good, b);
        return;
      }
      case 'moved':
        this.#state.set(e.with, `chat open, ${e.link === 'relay' ? 'relayed' : e.link}`);
        this.say(`* the chat with ${e.with} ${MOVED[e.link]}`, STYLE.dim, this.open(e.with));
        return;
      case 'declined': {
        const b = this.open(e.by);
        b.hasRequest = false;
        this.#state.set(e.by, e.reason === 'busy' ? 'busy' : 'declined');
        this.say(e.reason === 'busy' ? `${e.by} is busy` : `${e.by} declined the chat: ${e.reason}`, STYLE.warn, b);
        return;
      }
      case 'ended': {
        const b = this.open(e.with);
        b.hasRequest = false;
        this.#state.set(e.with, 'no chat open (a message opens one)');
        this.say(
          e.reason === 'remote' ? `* ${e.with} ended the chat` : e.reason === 'local' ? `* chat with ${e.with} ended` : `* ${e.reason}`,
          STYLE.dim,
          b,
        );
        return;
      }
      case 'waiting':
        this.#waiting.set(e.to, e.count);
        this.#tellWaiting(e);
        return;
      case 'kept': {
        const text = `* ${plural(e.count, 'message')} to ${e.to} ${e.count === 1 ? 'stays queued; it leaves' : 'stay queued; they leave'} when natter runs again and ${e.to} can be reached`;
        this.say(text, STYLE.warn, this.open(e.to));
        return;
      }
      case 'dropped':
        this.#waiting.delete(e.to);
        this.say(e.count === 0 ? `* nothing waits for ${e.to}` : `* dropped ${plural(e.count, 'message')} to ${e.to}`, STYLE.warn);
        return;
      case 'outbox':
        if (e.waiting.length === 0) this.say('* the outbox is empty');
        else {
          this.say('* waiting in the outbox:');
          for (const line of outboxLines(e)) this.plain(line);
          this.say('  /drop NAME cancels what waits for NAME', STYLE.dim);
        }
        return;
      case 'history':
        if (e.entries.length === 0) this.say(`* no history with ${e.with}`, STYLE.dim);
        for (const h of e.entries) {
          this.#reply().push({
            kind: h.dir === 'in' ? 'message' : 'own',
            at: h.at ?? h.ts,
            from: h.dir === 'in' ? e.with : this.#o.self,
            text: h.text,
            style: STYLE.plain,
          });
        }
        return;
      case 'who':
        if (e.peers.length === 0) this.say('nobody else is online');
        for (const line of whoLines(e)) this.plain(line);
        return;
      case 'whois':
        for (const line of describeKey(e)) this.plain(line);
        return;
      case 'trusted':
        this.say(
          `* ${e.name}'s key is now ${e.fingerprint}${e.previous === undefined ? '' : ` (it was ${e.previous})`}; pinned`,
          STYLE.good,
        );
        return;
      case 'doctor':
        for (const line of e.lines) this.say(line, line.startsWith('!') ? STYLE.warn : STYLE.plain);
        return;
      case 'dump':
        this.plain(JSON.stringify(e));
        return;
      case 'shutdown':
        this.say('* the directory is shutting natter down; bye', STYLE.warn, this.status);
        return;
      case 'notice':
        this.say(`* ${e.message}`, STYLE.dim, this.status);
        return;
      case 'error':
        this.say(`! ${e.message}`, STYLE.error);
        return;
      case 'directory':
        this.directory = { address: e.address, isReachable: e.isReachable };
        return;
      case 'ready':
        return;
      default:
        this.#presentRoom(e);
    }
  }

  /** The room a buffer shows (its id), when it is a room's: where a plain line typed there goes. */
  roomOf(buffer: ChatBuffer): string | undefined {
    return buffer.isStatus ? undefined : this.#roomIds.get(buffer.name);
  }

  /** Room events: each room has a buffer of its own, named #ROOM. */
  #presentRoom(e: RoomEvent): void {
    if ('room' in e) this.#roomIds.set(`#${e.name}`, e.room);
    switch (e.type) {
      case 'room-joined': {
        const b = this.open(`#${e.name}`);
        this.#state.set(b.name, `room ${e.room}: ${e.members.join(', ')}`);
        this.say(`* you are in #${e.name} with ${e.members.join(', ')}`, STYLE.good, b);
        return;
      }
      case 'room-invite':
        this.say(`${e.from} invites you to #${e.name}: /join ${e.name} or /decline #${e.name}`, STYLE.warn, this.status);
        this.#o.onAlert(e.from, this.status, e.from, `invites you to #${e.name}`);
        return;
      case 'room-message': {
        const b = this.open(`#${e.name}`);
        const before = b.lines.length;
        this.#add(b, 'message', e.late === true ? `${e.text} (late)` : e.text, STYLE.plain, { from: e.from, id: e.id });
        if (b.lines.length !== before) this.#o.onAlert(e.from, b, `${e.from} in #${e.name}`, e.text);
        return;
      }
      case 'room-members': {
        const b = this.open(`#${e.name}`);
        this.#state.set(b.name, `room ${e.room}: ${e.members.join(', ')}`);
        this.say(
          `* #${e.name}: ${e.members.map((m) => `${m}${e.admins.includes(m) ? '*' : ''}${e.online.includes(m) ? '+' : ''}`).join(', ')}`,
          STYLE.plain,
          this.replyTo ?? b,
        );
        return;
      }
      case 'room-left': {
        const b = this.open(`#${e.name}`);
        this.#state.set(b.name, e.reason === 'left' ? 'you left this room' : 'you were removed from this room');
        this.say(e.reason === 'left' ? `* you left #${e.name}` : `* you were removed from #${e.name}`, STYLE.warn, b);
        return;
      }
      case 'room-history':
        if (e.entries.length === 0) this.say(`* no messages in #${e.name}`, STYLE.dim);
        for (const h of e.entries)
          this.#reply().push({
            kind: h.from === this.#o.self ? 'own' : 'message',
            at: h.ts,
            from: h.from,
            text: h.text,
            style: STYLE.plain,
          });
        return;
      case 'room-list':
        if (e.rooms.length === 0) this.say('* no rooms: /room create NAME makes one');
        for (const r of e.rooms) this.plain(`  #${r.name}  ${r.room}  ${r.status === 'invited' ? 'invited' : plural(r.members, 'member')}`);
        return;
    }
  }

  /** 'waiting': said in the peer's buffer, as the line UI says it; its messages on their way are marked as waiting. */
  #tellWaiting(e: ChatEventOf<'waiting'>): void {
    const b = this.open(e.to);
    b.markWaiting();
    this.#state.set(e.to, `cannot be reached now; ${plural(e.count, 'message')} in the outbox`);
    const waits = e.count === 1 ? '1 message waits and leaves' : `${e.count} messages wait and leave`;
    if (e.code === 'NATTER_ERR_KEY_MISMATCH') {
      this.say(
        `* ${waits} when ${e.to}'s key is settled (/whois ${e.to}, /trust ${e.to}); /drop ${e.to} cancels ${e.count === 1 ? 'it' : 'them'}`,
        STYLE.dim,
        b,
      );
    } else if (e.unknown === true) {
      this.say(
        `* ${e.to} has never been seen here: ${e.reason}. ${waits} if ${e.to} ever comes online; if the name is a typo, /drop ${e.to}`,
        STYLE.warn,
        b,
      );
    } else {
      this.say(`* ${e.to} cannot be reached now: ${e.reason}. ${waits} when ${e.to} can be reached`, STYLE.dim, b);
    }
  }
}
