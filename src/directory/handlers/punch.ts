/**
 * PUNCH: coordinated hole punching (protocol.md §6.8). The directory tells
 * both sides, at the same moment, where it sees the other's directory
 * connection come from: MEET to the asker, CALL to the other. Each then
 * dials the other from its directory connection's local port, so that
 * their NATs see outgoing connections both ways and let the crossing SYNs
 * meet (TCP simultaneous open). The addresses are the ones the directory
 * sees, never ones a client names: PUNCH can only make two registered
 * peers dial each other.
 */
import { ERROR_CODES } from '../../errors.ts';
import type { PunchMessage } from '../../protocol/messages.ts';
import { TokenBucket } from '../../rate-limiter.ts';
import type { ClientSession } from '../session.ts';
import type { HandlerContext } from './context.ts';

/** PUNCH requests per session: a burst, refilled at one per second. */
const buckets = new WeakMap<ClientSession, TokenBucket>();

export async function handlePunch(ctx: HandlerContext, session: ClientSession, msg: PunchMessage): Promise<void> {
  const refuse = (code: (typeof ERROR_CODES)[keyof typeof ERROR_CODES], reason: string): void => {
    session.conn.send({ type: 'ERROR', code, reason });
  };
  if (session.name === undefined) return refuse(ERROR_CODES.NOT_REGISTERED, 'send UP before PUNCH');
  let bucket = buckets.get(session);
  if (bucket === undefined) {
    bucket = new TokenBucket(ctx.options.punchBurst, 1, ctx.now());
    buckets.set(session, bucket);
  }
  if (bucket.take(ctx.now()) > 0) {
    ctx.counters.rateLimited++;
    return refuse(ERROR_CODES.RATE_LIMITED, `more than ${ctx.options.punchBurst} PUNCH requests at once; one a second after that`);
  }
  if (msg.name === session.name) return refuse(ERROR_CODES.INVALID_ARGUMENT, 'that is you');
  const record = (await ctx.store.list()).find((r) => r.name === msg.name);
  if (record === undefined) return refuse(ERROR_CODES.UNKNOWN_PEER, `${msg.name} is not online`);
  if (session.port === 0)
    return refuse(ERROR_CODES.PEER_UNREACHABLE, 'the port this connection comes from is unknown here: nothing to punch from');
  const call = { type: 'CALL', via: 'punch', name: session.name, ip: session.ip, port: session.port } as const;
  const target = ctx.sessionOf(record.owner);
  if (target !== undefined && target.conn.state === 'open' && target.port !== 0) {
    ctx.counters.punches++;
    ctx.logger.debug({ from: session.name, to: record.name }, 'punch');
    // Both in the same turn: each is flushed with its connection's next write, together.
    target.conn.send(call);
    session.conn.send({ type: 'MEET', name: record.name, ip: target.ip, port: target.port });
    return;
  }
  // Registered at another process of this directory: it passes the CALL on; the address is the one it saw.
  if (target === undefined && ctx.store.isShared && record.seenIp !== undefined && record.seenPort !== undefined && record.seenPort !== 0) {
    ctx.counters.punches++;
    ctx.logger.debug({ from: session.name, to: record.name, across: true }, 'punch');
    await ctx.store.tell(record.owner, call);
    session.conn.send({ type: 'MEET', name: record.name, ip: record.seenIp, port: record.seenPort });
    return;
  }
  return refuse(ERROR_CODES.PEER_UNREACHABLE, `${msg.name} cannot be asked to punch from here`);
}
