/**
 * Administrator checks for SHUTDOWN and DUMP (protocol.md §6.5): the sender
 * must hold the administrator token (compared in constant time) and, unless
 * the directory allows otherwise, connect from a loopback address.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { ERROR_CODES } from '../../errors.ts';
import type { ClientSession } from '../session.ts';
import type { HandlerContext } from './context.ts';

function digest(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

/** Constant-time comparison of two secrets of any lengths (hashed first, so lengths leak nothing). */
export function isSameSecret(given: Buffer, expected: Buffer): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

export function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1';
}

/** True when the sender may run `what`; otherwise answers an ERROR, logs, and returns false. */
export function authorizeAdmin(ctx: HandlerContext, session: ClientSession, credential: Buffer, what: string): boolean {
  const token = ctx.options.adminToken;
  let refusal: string | undefined;
  if (token === undefined) refusal = 'administrator messages are disabled on this directory (no admin token configured)';
  else if (!ctx.options.isAdminFromAnyAddress && !isLoopback(session.ip)) refusal = 'administrator messages are only taken from loopback addresses';
  else if (!isSameSecret(credential, token)) refusal = 'wrong administrator token';
  if (refusal === undefined) return true;
  ctx.counters.adminRefused++;
  ctx.logger.warn({ session: session.id, ip: session.ip, peer: session.name, what }, `refused ${what}: ${refusal}`);
  session.conn.send({ type: 'ERROR', code: ERROR_CODES.NOT_AUTHORIZED, reason: `${what} refused: ${refusal}` });
  return false;
}
