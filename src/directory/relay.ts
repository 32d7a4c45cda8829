/**
 * The blind relay (protocol.md §6.9, docs/security.md "Relaying"): when two
 * registered peers cannot reach each other, each opens a connection of its
 * own to the directory and sends RELAY naming the other. The directory joins
 * the two only when both have asked for the same pair, and then forwards
 * the bytes each sends to the other. Those bytes are the peers' own Noise
 * channel, end to end: the directory cannot read them, forge them, or make
 * anyone connect anywhere.
 *
 *   A ── RELAY(b) ──▶ directory ── CALL(relay, a) ──▶ B (on its registered connection)
 *                     directory ◀── RELAY(a) ─────── B (a new connection)
 *   A ◀── JOINED ─── directory ─── JOINED ──▶ B
 *   A ◀════════ A's and B's own handshake and records ════════▶ B
 *
 * Bounded: links at once in all and per client, bytes per second per link
 * and direction, an idle timeout, and a deadline for the other side to ask.
 */
import { ERROR_CODES, NatterError, type NatterErrorCode } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { ByteStream } from '../transport/byte-stream.ts';
import { canonicalIp } from '../protocol/fields.ts';
import type { DirectoryCounters } from './handlers/context.ts';
import type { DirectoryOptions } from './options.ts';
import { TokenBucket } from '../rate-limiter.ts';
import type { ClientSession } from './session.ts';
import type { DirectoryStore } from './store/store.ts';

/** What the relay needs of the directory. */
export interface RelayHost {
  readonly options: DirectoryOptions;
  readonly store: DirectoryStore;
  readonly counters: DirectoryCounters;
  readonly logger: Logger;
  now(): number;
  sessionOf(owner: string): ClientSession | undefined;
  /** The TCP port the directory listens on, once it does. */
  readonly listeningPort: number | undefined;
  /** The connection no longer belongs to the directory's sessions (its socket still counts against its address). */
  release(session: ClientSession): void;
}

interface Pending {
  session: ClientSession;
  from: string;
  to: string;
  timer: NodeJS.Timeout;
}

interface Link {
  a: string;
  b: string;
  bytes: number;
  /** Ends both sides; `why` goes to the log. */
  close(why?: string): void;
}

export class Relay {
  readonly #host: RelayHost;
  /** Waiting for the other side, by "from\0to". */
  readonly #pending = new Map<string, Pending>();
  readonly #links = new Set<Link>();

  constructor(host: RelayHost) {
    this.#host = host;
  }

  /** Links joined now, and halves waiting for their other side. */
  get counts(): { links: number; pending: number } {
    return { links: this.#links.size, pending: this.#pending.size };
  }

  async request(session: ClientSession, target: string): Promise<void> {
    const o = this.#host.options;
    const refuse = (code: NatterErrorCode, reason: string): void => {
      this.#host.counters.relaysRefused++;
      session.conn.fail(new NatterError(code, reason));
    };
    if (!o.isRelaying) return refuse(ERROR_CODES.RELAY_REFUSED, 'this directory does not relay');
    if (session.keyHex === undefined) return refuse(ERROR_CODES.NOT_AUTHORIZED, 'a relay needs a connection with a proven key');
    if (session.name !== undefined)
      return refuse(ERROR_CODES.UNEXPECTED_MESSAGE, 'RELAY goes on a connection of its own, not on a registered one');
    const records = await this.#host.store.list();
    // Who asks: the name the same key registered (only registered peers may use the relay).
    const from = records.find((r) => r.key === session.keyHex)?.name;
    if (from === undefined)
      return refuse(ERROR_CODES.NOT_REGISTERED, 'only a registered peer may ask for a relay; send UP on your directory connection first');
    const toRecord = records.find((r) => r.name === target);
    if (toRecord === undefined) return refuse(ERROR_CODES.UNKNOWN_PEER, `${target} is not online`);
    if (target === from) return refuse(ERROR_CODES.INVALID_ARGUMENT, 'that is you');
    const partner = this.#pending.get(`${target}\u0000${from}`);
    if (partner !== undefined) {
      this.#pending.delete(`${target}\u0000${from}`);
      clearTimeout(partner.timer);
      if (partner.session.conn.state !== 'open') return refuse(ERROR_CODES.PEER_UNREACHABLE, `${target} went away`);
      this.#join(partner, session, from);
      return;
    }
    const key = `${from}\u0000${target}`;
    if (this.#pending.has(key)) return refuse(ERROR_CODES.RELAY_REFUSED, `a relay from ${from} to ${target} is already waiting`);
    if (this.#links.size + this.#pending.size >= o.relayMaxLinks)
      return refuse(ERROR_CODES.RELAY_REFUSED, `the relay is full (${o.relayMaxLinks} links)`);
    if (this.#linksOf(from) >= o.relayMaxPerClient)
      return refuse(ERROR_CODES.RELAY_REFUSED, `${from} already has ${o.relayMaxPerClient} relayed links, the most one client may have`);
    const targetSession = this.#host.sessionOf(toRecord.owner);
    const isElsewhere = targetSession === undefined && this.#host.store.isShared;
    if (!isElsewhere && (targetSession === undefined || targetSession.conn.state !== 'open')) {
      return refuse(ERROR_CODES.PEER_UNREACHABLE, `${target} cannot be asked to join from here`);
    }
    // With a shared store the other side may reach the directory at another process: the CALL says
    // which process holds this half. A process of its own needs no address: "where you registered".
    const here = this.#host.store.isShared ? this.#address(session) : undefined;
    if (this.#host.store.isShared && here === undefined) {
      return refuse(
        ERROR_CODES.PEER_UNREACHABLE,
        `cannot tell ${target} where to join: this directory process does not know its own address (start it with --advertise)`,
      );
    }
    // Nothing more is read from this connection until the other side joins: what follows RELAY is theirs.
    session.conn.pause();
    const timer = setTimeout(() => {
      if (this.#pending.get(key)?.session !== session) return;
      this.#pending.delete(key);
      refuse(ERROR_CODES.TIMEOUT, `${target} did not join the relay within ${o.relayJoinTimeoutMs} ms`);
    }, o.relayJoinTimeoutMs);
    timer.unref();
    this.#pending.set(key, { session, from, to: target, timer });
    session.conn.once('close', () => {
      if (this.#pending.get(key)?.session !== session) return;
      clearTimeout(timer);
      this.#pending.delete(key);
    });
    const call = { type: 'CALL', via: 'relay', name: from, ip: here?.ip ?? '', port: here?.port ?? 0 } as const;
    if (targetSession !== undefined) targetSession.conn.send(call);
    else await this.#host.store.tell(toRecord.owner, call);
  }

  /** Where peers reach this process: --advertise, else where the asker's connection came in. */
  #address(session: ClientSession): { ip: string; port: number } | undefined {
    const advertised = this.#host.options.advertise;
    if (advertised !== undefined) return { ip: advertised.host, port: advertised.port };
    const ip = session.conn.localAddress;
    const port = this.#host.listeningPort;
    return ip === undefined || port === undefined ? undefined : { ip: canonicalIp(ip), port };
  }

  /** Closes every link and refuses every pending half (the directory stops). */
  close(): void {
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.session.conn.destroy();
    }
    this.#pending.clear();
    for (const link of [...this.#links]) link.close();
  }

  #linksOf(name: string): number {
    let n = 0;
    for (const l of this.#links) if (l.a === name || l.b === name) n++;
    for (const p of this.#pending.values()) if (p.from === name || p.to === name) n++;
    return n;
  }

  /** Both asked: JOINED to each, then their connections carry each other's bytes. */
  #join(first: Pending, second: ClientSession, secondName: string): void {
    const host = this.#host;
    const o = host.options;
    first.session.conn.send({ type: 'JOINED', isFirst: true });
    second.conn.send({ type: 'JOINED', isFirst: false });
    const a = first.session.conn.detach();
    const b = second.conn.detach();
    host.counters.relaysJoined++;
    host.logger.info({ a: first.from, b: secondName }, 'relay joined');
    let lastActivity = host.now();
    /** Chunks waiting for the rate, both ways: a link that has some is not idle. */
    let heldChunks = 0;
    let isClosed = false;
    const link: Link = {
      a: first.from,
      b: secondName,
      bytes: 0,
      close: (why = 'closed') => {
        if (isClosed) return;
        isClosed = true;
        clearInterval(idleTimer);
        this.#links.delete(link);
        for (const s of [a.stream, b.stream]) {
          s.end();
          setTimeout(() => s.destroy(), o.shutdownGraceMs).unref();
        }
        host.logger.info({ a: link.a, b: link.b, bytes: link.bytes, why }, 'relay closed');
      },
    };
    this.#links.add(link);
    const pump = (from: ByteStream, to: ByteStream, rest: Buffer, fromName: string): void => {
      const bucket = new TokenBucket(o.relayBytesPerSecond, o.relayBytesPerSecond, host.now());
      let isWaiting = false;
      /** Chunks held back by the rate, in order; reading stops while there are any. */
      const held: Buffer[] = [];
      const forward = (chunk: Buffer): void => {
        if (isClosed) return;
        lastActivity = host.now();
        link.bytes += chunk.length;
        host.counters.relayedBytes += chunk.length;
        if (!to.write(chunk) && !isWaiting) {
          // The other side reads slower than this one writes: stop reading until it catches up.
          isWaiting = true;
          from.pause();
          to.once('drain', () => {
            isWaiting = false;
            if (!isClosed && held.length === 0) from.resume();
          });
        }
      };
      const carry = (chunk: Buffer): void => {
        if (isClosed) return;
        lastActivity = host.now();
        const wait = bucket.take(host.now(), chunk.length);
        if (wait === 0 && held.length === 0) {
          forward(chunk);
          return;
        }
        // Over the rate: this chunk waits for its tokens (already spoken for), and reading stops meanwhile.
        held.push(chunk);
        heldChunks++;
        from.pause();
        setTimeout(() => {
          heldChunks--;
          forward(held.shift() as Buffer);
          if (held.length === 0 && !isWaiting && !isClosed) from.resume();
        }, wait).unref();
      };
      from.on('data', carry);
      from.on('end', () => link.close(`${fromName} ended its side`));
      from.on('close', () => link.close(`${fromName}'s connection closed`));
      from.on('error', (err: Error) => link.close(`${fromName}'s connection failed: ${err.message}`));
      if (rest.length > 0) carry(rest);
      from.resume();
    };
    pump(a.stream, b.stream, a.rest, link.a);
    pump(b.stream, a.stream, b.rest, link.b);
    const idleTimer = setInterval(
      () => {
        if (heldChunks === 0 && host.now() - lastActivity >= o.relayIdleTimeoutMs) {
          link.close('idle');
        }
      },
      Math.min(o.relayIdleTimeoutMs, 60_000),
    );
    idleTimer.unref();
    host.release(first.session);
    host.release(second);
  }
}
