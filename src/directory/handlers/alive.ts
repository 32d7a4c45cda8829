/** ALIVE: ACK(port) for a registered client, NACK for one the directory does not know (protocol.md §6.4). */
import type { ClientSession } from '../session.ts';
import type { HandlerContext } from './context.ts';

export async function handleAlive(ctx: HandlerContext, session: ClientSession): Promise<void> {
  ctx.counters.alivesReceived++;
  const record = session.name === undefined ? undefined : await ctx.store.refresh(session.name, session.id, ctx.now());
  if (record === undefined) {
    // Expired (or never registered): the client must send UP again.
    session.name = undefined;
    ctx.counters.nacksSent++;
    session.conn.send({ type: 'NACK', reason: 'not registered; send UP again' });
    return;
  }
  sendAck(ctx, session, record.port);
}

/** ACK to UP and ALIVE: the assigned port, the alive interval, and the address the directory sees the client at. */
export function sendAck(ctx: HandlerContext, session: ClientSession, port: number): void {
  session.conn.send({ type: 'ACK', port, aliveIntervalMs: ctx.options.aliveIntervalMs, seenIp: session.ip, seenPort: session.port });
}
