/** DOWN: the sender leaves; only its own entry can go. No reply (protocol.md §6.2). */
import type { ClientSession } from '../session.ts';
import type { HandlerContext } from './context.ts';

export async function handleDown(ctx: HandlerContext, session: ClientSession): Promise<void> {
  const name = session.name;
  if (name === undefined) return;
  session.name = undefined;
  if (await ctx.store.remove(name, session.id)) {
    ctx.counters.departures++;
    ctx.logger.info({ session: session.id, peer: name }, 'left');
  }
}
