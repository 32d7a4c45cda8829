import type { MessageId } from './message-id.ts';
import type { StoredMessage } from './message-store.ts';

/** The pending outbox, in queue order (a Map iterates in insertion order). */
export class Outbox {
  readonly #byId = new Map<MessageId, StoredMessage>();

  get size(): number {
    return this.#byId.size;
  }

  has(id: MessageId): boolean {
    return this.#byId.has(id);
  }

  add(msg: StoredMessage): void {
    if (!this.#byId.has(msg.id)) this.#byId.set(msg.id, copyMessage(msg));
  }

  remove(id: MessageId): void {
    this.#byId.delete(id);
  }

  /** The ids among `ids` that are pending for `peer`, each once. */
  owned(peer: string, ids: readonly MessageId[]): MessageId[] {
    const out = new Set<MessageId>();
    for (const id of ids) if (this.#byId.get(id)?.peer === peer) out.add(id);
    return [...out];
  }

  /** Removes the ids among `ids` that are pending for `peer`. */
  removeOwned(peer: string, ids: readonly MessageId[]): void {
    for (const id of ids) if (this.#byId.get(id)?.peer === peer) this.#byId.delete(id);
  }

  /** The internal records, oldest first; callers must not mutate them. */
  values(): IterableIterator<StoredMessage> {
    return this.#byId.values();
  }

  list(): StoredMessage[] {
    return [...this.#byId.values()].map(copyMessage);
  }
}

function copyMessage(m: StoredMessage): StoredMessage {
  return { id: m.id, peer: m.peer, ts: m.ts, text: m.text };
}

/** The messages of an enqueue call that are new: not pending, not repeated in the call. */
export function newToOutbox(outbox: Outbox, msgs: readonly StoredMessage[]): readonly StoredMessage[] {
  if (msgs.length === 1) return outbox.has((msgs[0] as StoredMessage).id) ? [] : msgs;
  const seen = new Set<MessageId>();
  return msgs.filter((m) => {
    if (outbox.has(m.id) || seen.has(m.id)) return false;
    seen.add(m.id);
    return true;
  });
}
