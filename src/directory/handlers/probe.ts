/**
 * PROBE: can the sender's listener be reached from outside? The directory
 * dials back the address the sender's connection comes from, at the port
 * it names, and runs the handshake expecting the sender's own key
 * (protocol.md §6.7). Only that address, only one probe at a time and at
 * most one a probeIntervalMs per address: nobody can make the directory
 * scan anything but themselves.
 */
import { ERROR_CODES } from '../../errors.ts';
import type { ProbeMessage } from '../../protocol/messages.ts';
import type { ClientSession } from '../session.ts';
import type { HandlerContext } from './context.ts';

/** When each address last probed (monotonic ms), bounded by forgetting the oldest. */
const lastProbe = new WeakMap<HandlerContext, Map<string, number>>();
const MAX_REMEMBERED = 65_536;

export async function handleProbe(ctx: HandlerContext, session: ClientSession, msg: ProbeMessage): Promise<void> {
  if (session.key === undefined || session.ip === '') {
    session.conn.send({
      type: 'ERROR',
      code: ERROR_CODES.NOT_AUTHORIZED,
      reason: 'a probe needs a connection with a proven key and an address',
    });
    return;
  }
  let times = lastProbe.get(ctx);
  if (times === undefined) {
    times = new Map();
    lastProbe.set(ctx, times);
  }
  const now = ctx.now();
  const last = times.get(session.ip);
  if (last !== undefined && now - last < ctx.options.probeIntervalMs) {
    ctx.counters.rateLimited++;
    session.conn.send({
      type: 'ERROR',
      code: ERROR_CODES.RATE_LIMITED,
      reason: `one probe per ${ctx.options.probeIntervalMs} ms from ${session.ip}; try again shortly`,
    });
    return;
  }
  times.delete(session.ip);
  if (times.size >= MAX_REMEMBERED) times.delete(times.keys().next().value as string);
  // Held for the probe's whole length, so that probes from one address never overlap.
  times.set(session.ip, now + ctx.options.probeTimeoutMs);
  ctx.counters.probes++;
  const { isReachable, detail } = await ctx.dialBack(session.ip, msg.port, session.key);
  times.set(session.ip, ctx.now());
  session.conn.send({
    type: 'PROBED',
    isReachable,
    isRelaying: ctx.options.isRelaying,
    seenIp: session.ip,
    seenPort: session.port,
    detail,
  });
}
