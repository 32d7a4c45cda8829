/**
 * DOWN: the sender leaves; only its own entry can go. No reply (protocol.md
 * §6.2). A closed connection leaves the same way, logged as `disconnected`.
 */
import type { ClientSession } from '../session.ts';
import type { HandlerContext } from './context.ts';

export async function handleDown(ctx: HandlerContext, session: ClientSession, why = 'left'): Promise<void> {
  const name = session.name;
  if (name === undefined) return;
  session.name = undefined;
  if (await ctx.store.remove(name, session.id)) {
    ctx.counters.departures++;
    ctx.logger.info({ session: session.id, peer: name }, why);
  }
}
