/** DUMP from an administrator: the state as JSON, in as many STATE frames as it takes (protocol.md §4.10). */
import { DEFAULT_LIMITS, HEADER_BYTES } from '../../protocol/limits.ts';
import type { ClientSession } from '../session.ts';
import { authorizeAdmin } from './admin.ts';
import type { DirectoryCounters, HandlerContext } from './context.ts';

/** The shape of the DUMP answer (docs/protocol.md §6.5). */
export interface DirectoryState {
  server: string;
  version: string;
  uptimeMs: number;
  aliveIntervalMs: number;
  connections: number;
  online: number;
  /** The directory's key fingerprint. */
  fingerprint: string;
  clients: { name: string; ip: string; port: number; fingerprint: string; lastHeardMsAgo: number; registeredMsAgo: number }[];
  /** Relayed links joined now and halves waiting for their other side. */
  relay: { isRelaying: boolean; links: number; pending: number };
  counters: DirectoryCounters;
}

export async function handleDump(ctx: HandlerContext, session: ClientSession): Promise<void> {
  if (!authorizeAdmin(ctx, session, 'DUMP')) return;
  const json = Buffer.from(JSON.stringify(await ctx.dumpState()), 'utf8');
  // As much JSON per frame as fits beside the header and the `more` byte.
  const piece = (ctx.options.limits.maxFrameBytes ?? DEFAULT_LIMITS.maxFrameBytes) - HEADER_BYTES - 1;
  for (let offset = 0; offset === 0 || offset < json.length; offset += piece) {
    const data = json.subarray(offset, offset + piece);
    if (!session.conn.send({ type: 'STATE', more: offset + piece < json.length, data })) return;
    // A large state must not trip the output queue cap: let the admin read it first.
    await session.conn.drained();
  }
}
