/**
 * FIND: where one peer is (protocol.md §6.3), answered like WHO with HDR(1)
 * and its PEER frame, or HDR(0) when the name is not online. A peer asks it
 * for each name it must check, instead of the whole listing.
 */
import { ERROR_CODES } from '../../errors.ts';
import { encodeMessage } from '../../protocol/codec.ts';
import type { FindMessage } from '../../protocol/messages.ts';
import type { ClientSession } from '../session.ts';
import type { HandlerContext } from './context.ts';

const NONE = encodeMessage({ type: 'HDR', count: 0 });
const ONE = encodeMessage({ type: 'HDR', count: 1 });

export async function handleFind(ctx: HandlerContext, session: ClientSession, msg: FindMessage): Promise<void> {
  if (!session.isRegistered) {
    session.conn.send({ type: 'ERROR', code: ERROR_CODES.NOT_REGISTERED, reason: 'send UP before FIND' });
    return;
  }
  const frame = await ctx.peerFrame(msg.name);
  ctx.counters.findsServed++;
  session.conn.sendEncoded(frame === undefined ? NONE : Buffer.concat([ONE, frame]));
}
