/** SHUTDOWN from an administrator: stop the whole directory (protocol.md §6.5). */
import type { ClientSession } from '../session.ts';
import { authorizeAdmin } from './admin.ts';
import type { HandlerContext } from './context.ts';

export function handleShutdown(ctx: HandlerContext, session: ClientSession): void {
  if (!authorizeAdmin(ctx, session, 'SHUTDOWN')) return;
  ctx.logger.warn({ session: session.id, ip: session.ip }, 'SHUTDOWN by administrator');
  ctx.shutdown('administrator');
}
