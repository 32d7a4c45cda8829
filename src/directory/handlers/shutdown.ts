/**
 * SHUTDOWN from an administrator: stop the whole directory (protocol.md §6.5),
 * every process of it: the notice goes through the store to the others.
 */
import type { ClientSession } from '../session.ts';
import { authorizeAdmin } from './admin.ts';
import type { HandlerContext } from './context.ts';

export async function handleShutdown(ctx: HandlerContext, session: ClientSession): Promise<void> {
  if (!authorizeAdmin(ctx, session, 'SHUTDOWN')) return;
  ctx.logger.warn({ session: session.id, ip: session.ip }, 'SHUTDOWN by administrator');
  try {
    await ctx.store.announceShutdown('administrator');
  } catch (err) {
    ctx.logger.error({ err: (err as Error).message }, 'could not tell the other directory processes to shut down');
  }
  ctx.shutdown('administrator');
}
