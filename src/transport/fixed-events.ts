/**
 * An event emitter for a fixed set of events, for objects a directory holds
 * thousands of at once (SecureStream). Node's EventEmitter keeps its
 * listeners in an object with a null prototype, which V8 keeps as a hash
 * table: a few hundred bytes for every connection, idle or not. Here they
 * sit in the fields of one small object of a fixed shape, each a single
 * listener or, when there are several, an array of them.
 *
 * The part of EventEmitter's API natter and Node's `events.once()` use:
 * on/addListener, once, off/removeListener, emit, listenerCount.
 */

type Listener<A extends unknown[]> = (...args: A) => void;
type Slot<A extends unknown[]> = Listener<A> | Listener<A>[] | undefined;

/** A listener added with once(): called at most once, found by the listener it wraps. */
interface OnceWrapper<A extends unknown[]> extends Listener<A> {
  listener: Listener<A>;
}

export class FixedEvents<E extends Record<keyof E, unknown[]>> {
  /** One field per event, made by the subclass with every event's name, so that all share one shape. */
  readonly #slots: { [K in keyof E]: Slot<E[K]> };

  constructor(slots: { [K in keyof E]: undefined }) {
    this.#slots = slots as { [K in keyof E]: Slot<E[K]> };
  }

  on<K extends keyof E>(event: K, listener: Listener<E[K]>): this {
    const slot = this.#slots[event];
    if (slot === undefined) this.#slots[event] = listener;
    else if (typeof slot === 'function') this.#slots[event] = [slot, listener];
    else slot.push(listener);
    return this;
  }

  addListener<K extends keyof E>(event: K, listener: Listener<E[K]>): this {
    return this.on(event, listener);
  }

  once<K extends keyof E>(event: K, listener: Listener<E[K]>): this {
    const wrapper = ((...args: E[K]) => {
      this.off(event, wrapper);
      listener(...args);
    }) as OnceWrapper<E[K]>;
    wrapper.listener = listener;
    return this.on(event, wrapper);
  }

  /** Removes the listener added last that is `listener` (or a once() wrapper of it). */
  off<K extends keyof E>(event: K, listener: Listener<E[K]>): this {
    const slot = this.#slots[event];
    if (slot === undefined) return this;
    if (typeof slot === 'function') {
      if (isFor(slot, listener)) this.#slots[event] = undefined;
      return this;
    }
    for (let i = slot.length - 1; i >= 0; i--) {
      if (isFor(slot[i] as Listener<E[K]>, listener)) {
        const rest = slot.slice(0, i).concat(slot.slice(i + 1));
        this.#slots[event] = rest.length === 1 ? rest[0] : rest;
        break;
      }
    }
    return this;
  }

  removeListener<K extends keyof E>(event: K, listener: Listener<E[K]>): this {
    return this.off(event, listener);
  }

  /** Calls every listener of `event` in the order added; true when there was one. */
  emit<K extends keyof E>(event: K, ...args: E[K]): boolean {
    const slot = this.#slots[event];
    if (slot === undefined) return false;
    if (typeof slot === 'function') {
      slot.apply(this, args);
      return true;
    }
    // A copy: a listener may add or remove listeners while they are called.
    for (const listener of slot.slice()) listener.apply(this, args);
    return true;
  }

  listenerCount(event: keyof E): number {
    const slot = this.#slots[event];
    return slot === undefined ? 0 : typeof slot === 'function' ? 1 : slot.length;
  }
}

function isFor<A extends unknown[]>(added: Listener<A>, listener: Listener<A>): boolean {
  return added === listener || (added as Partial<OnceWrapper<A>>).listener === listener;
}
