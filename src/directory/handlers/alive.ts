/** ALIVE: ACK(port) for a registered client, NACK for one the directory does not know (protocol.md §6.4). */
import { encodeMessage } from '../../protocol/codec.ts';
import type { ClientSession } from '../session.ts';
import type { PeerRecord } from '../store/store.ts';
import type { HandlerContext } from './context.ts';

/** Answers in the same call when the store can (it keeps its entries in this process); otherwise once the store has. */
export function handleAlive(ctx: HandlerContext, session: ClientSession): Promise<void> | undefined {
  ctx.counters.alivesReceived++;
  const name = session.name;
  const store = ctx.store;
  if (name === undefined) return answerAlive(ctx, session, undefined);
  // Heard from when the session took the request (it has just read the clock for it).
  const now = session.lastHeard;
  if (store.refreshNow !== undefined) return answerAlive(ctx, session, store.refreshNow(name, session.id, now));
  return store.refresh(name, session.id, now).then((record) => answerAlive(ctx, session, record));
}

function answerAlive(ctx: HandlerContext, session: ClientSession, record: PeerRecord | undefined): undefined {
  if (record === undefined) {
    // Expired (or never registered): the client must send UP again.
    session.name = undefined;
    ctx.counters.nacksSent++;
    session.conn.send({ type: 'NACK', reason: 'not registered; send UP again' });
    return undefined;
  }
  sendAck(ctx, session, record.port);
  return undefined;
}

/** ACK to UP and ALIVE: the assigned port, the alive interval, and the address the directory sees the client at. */
export function sendAck(ctx: HandlerContext, session: ClientSession, port: number): void {
  // The same bytes for every heartbeat of a session, until its port changes: encoded once.
  let ack = session.ack;
  if (ack === undefined || ack.port !== port) {
    const encoded = encodeMessage({
      type: 'ACK',
      port,
      aliveIntervalMs: ctx.options.aliveIntervalMs,
      seenIp: session.ip,
      seenPort: session.port,
    });
    // A buffer of its own: a slice of Node's shared pool, kept for the session's life, would keep the whole slab.
    const frame = Buffer.allocUnsafeSlow(encoded.length);
    encoded.copy(frame);
    ack = { port, frame };
    session.ack = ack;
  }
  session.conn.sendEncoded(ack.frame);
}
