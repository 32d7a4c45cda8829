/**
 * Administrator checks for SHUTDOWN and DUMP (protocol.md §6.5): the key that
 * opened the encrypted connection must be one of the directory's admin keys.
 * The handshake proved the sender holds its private half, so the messages
 * themselves carry nothing.
 */
import { ERROR_CODES } from '../../errors.ts';
import { fingerprint } from '../../transport/identity.ts';
import type { ClientSession } from '../session.ts';
import type { HandlerContext } from './context.ts';

export function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1';
}

/** True when the sender may run `what`; otherwise answers an ERROR, logs, and returns false. */
export function authorizeAdmin(ctx: HandlerContext, session: ClientSession, what: string): boolean {
  const key = session.key;
  if (key !== undefined && ctx.options.adminKeys.some((k) => k.equals(key))) return true;
  const who = key === undefined ? 'an unauthenticated connection' : `key ${fingerprint(key)}`;
  ctx.counters.adminRefused++;
  ctx.logger.warn({ session: session.id, ip: session.ip, peer: session.name, what }, `refused ${what} from ${who}: not an admin key`);
  session.conn.send({
    type: 'ERROR',
    code: ERROR_CODES.NOT_AUTHORIZED,
    reason: `${what} refused: ${who} is not in this directory's admin keys`,
  });
  return false;
}
