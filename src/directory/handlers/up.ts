/** UP: register, and answer ACK(port, alive interval) or an ERROR (protocol.md §6.1). */
import { ERROR_CODES } from '../../errors.ts';
import { canonicalIp } from '../../protocol/fields.ts';
import type { UpMessage } from '../../protocol/messages.ts';
import type { ClientSession } from '../session.ts';
import type { RegisterResult } from '../store/store.ts';
import type { HandlerContext } from './context.ts';
import { sendAck } from './alive.ts';

/** Answers in the same call when the store can (it keeps its entries in this process); otherwise once the store has. */
export function handleUp(ctx: HandlerContext, session: ClientSession, msg: UpMessage): Promise<void> | undefined {
  if (session.name !== undefined && session.name !== msg.name) {
    ctx.counters.refusedRegistrations++;
    session.conn.send({
      type: 'ERROR',
      code: ERROR_CODES.ALREADY_REGISTERED,
      reason: `this connection is already registered as ${session.name}; send DOWN first`,
    });
    return undefined;
  }
  if (session.keyHex === undefined) {
    ctx.counters.refusedRegistrations++;
    session.conn.send({
      type: 'ERROR',
      code: ERROR_CODES.NOT_AUTHORIZED,
      reason: 'this connection has no proven key; registration needs the encrypted handshake',
    });
    return undefined;
  }
  // Unspecified means "the address you see me at".
  const ip = msg.ip === '' ? session.ip : canonicalIp(msg.ip);
  const store = ctx.store;
  const request = {
    name: msg.name,
    ip,
    requestedPort: msg.port,
    owner: session.id,
    key: session.keyHex,
    now: ctx.now(),
    // Another process of a shared directory may have to tell a peer where to punch to this one.
    ...(store.isShared && session.port !== 0 ? { seenIp: session.ip, seenPort: session.port } : {}),
  };
  if (store.registerNow !== undefined) return answerUp(ctx, session, msg.name, ip, store.registerNow(request));
  return store.register(request).then((result) => answerUp(ctx, session, msg.name, ip, result));
}

function answerUp(ctx: HandlerContext, session: ClientSession, name: string, ip: string, result: RegisterResult): undefined {
  if (!result.ok) {
    ctx.counters.refusedRegistrations++;
    const refusal =
      result.reason === 'name-taken'
        ? { code: ERROR_CODES.NAME_TAKEN, reason: `the name ${name} is online with another key; choose another name` }
        : { code: ERROR_CODES.PORTS_EXHAUSTED, reason: `no free port left for ${ip}` };
    ctx.logger.info({ session: session.id, peer: name, ip, code: refusal.code }, 'registration refused');
    session.conn.send({ type: 'ERROR', ...refusal });
    return undefined;
  }
  const { record, isNew } = result;
  // The same key came back on a new connection: the old one no longer speaks for the name.
  if (result.previousOwner !== undefined) ctx.releaseName(result.previousOwner, record.name);
  session.name = record.name;
  session.hasRegistered = true;
  if (isNew) {
    ctx.counters.registrations++;
    ctx.logger.info({ session: session.id, peer: record.name, ip: record.ip, port: record.port }, 'registered');
  }
  sendAck(ctx, session, record.port);
  return undefined;
}
