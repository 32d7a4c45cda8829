/**
 * WHO: HDR(count) then exactly count PEER frames (protocol.md §6.3).
 *
 * The records come from one store snapshot and leave as one buffer written in
 * one call, so nothing that happens meanwhile (registrations, departures,
 * other clients' requests) can make the count and the records disagree. The
 * buffer is reused until the listing changes.
 */
import { ERROR_CODES } from '../../errors.ts';
import type { ClientSession } from '../session.ts';
import type { HandlerContext } from './context.ts';

export async function handleWho(ctx: HandlerContext, session: ClientSession): Promise<void> {
  if (!session.isRegistered) {
    session.conn.send({ type: 'ERROR', code: ERROR_CODES.NOT_REGISTERED, reason: 'send UP before WHO' });
    return;
  }
  const listing = await ctx.listing();
  ctx.counters.whoServed++;
  session.conn.sendEncoded(listing);
}
