/** SHUTDOWN from an administrator: stop the whole directory (protocol.md §6.5). */
import type { ShutdownMessage } from '../../protocol/messages.ts';
import type { ClientSession } from '../session.ts';
import { authorizeAdmin } from './admin.ts';
import type { HandlerContext } from './context.ts';

export function handleShutdown(ctx: HandlerContext, session: ClientSession, msg: ShutdownMessage): void {
  if (!authorizeAdmin(ctx, session, msg.credential, 'SHUTDOWN')) return;
  ctx.logger.warn({ session: session.id, ip: session.ip }, 'SHUTDOWN by administrator');
  ctx.shutdown('administrator');
}
