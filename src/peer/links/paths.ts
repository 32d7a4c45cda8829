/**
 * The ways to reach a peer beyond dialing its address, through what a
 * directory offers (src/discovery/rendezvous.ts):
 *
 *   punched: the directory tells both sides where it sees the other's
 *            directory connection; both dial from that connection's local
 *            port at once (simultaneous-open.ts)
 *   relay:   both open a connection of their own to the directory, which
 *            joins them and forwards bytes it cannot read
 *
 * Either way the two peers run their own Noise handshake end to end, and
 * the key checks are the same as for a direct connection: the side that
 * asked dials (it checks the key for the name before HELLO and sends CONN);
 * the side that was called accepts (it checks the key against the CONN).
 */
import type { CallMessage } from '../../protocol/messages.ts';
import type { Rendezvous } from '../../discovery/rendezvous.ts';
import { ERROR_CODES, NatterError, isNatterError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { FramedConnection } from '../../transport/framed-connection.ts';
import type { ByteStream } from '../../transport/secure.ts';
import { acceptSecure, dial } from '../../transport/tcp.ts';
import { DirectConnector, locate, type Connection, type Connector, type ConnectorContext, type LinkKind } from './connector.ts';
import { simultaneousOpen } from './simultaneous-open.ts';

/** How long a direct dial may wait for an answer before the next path is tried. */
export const DIRECT_CONNECT_MS = 1_500;
/** How long a punch may take once the directory has given the signal. */
export const PUNCH_DEADLINE_MS = 1_500;
/** How long a relay may take to be joined. */
export const RELAY_JOIN_MS = 5_000;

/** Runs the accepting side over a stream another path opened: the handshake; CONN and the key check come in the pool. */
async function acceptOver(ctx: ConnectorContext, stream: ByteStream, initial: Buffer | undefined): Promise<FramedConnection> {
  const secure = await acceptSecure(stream, ctx.keyPair, ctx.timeoutMs, initial);
  return new FramedConnection(secure, { limits: ctx.limits, hello: 'answer' });
}

/** Runs the dialer's side over a stream another path opened: handshake, key check for `peer`, HELLO. */
async function dialOver(
  ctx: ConnectorContext,
  peer: string,
  stream: ByteStream,
  initial: Buffer | undefined,
  where: { ip: string; port: number },
): Promise<FramedConnection> {
  const info = await locate(ctx, peer);
  return dial({
    host: where.ip,
    port: where.port,
    stream,
    ...(initial === undefined ? {} : { initial }),
    timeoutMs: ctx.timeoutMs,
    limits: ctx.limits,
    keyPair: ctx.keyPair,
    verifyKey: (key) => ctx.keyBook.check(peer, key, info, ctx.discovery.keyAuthority),
  });
}

/** Hole punching, coordinated by the directory. */
export class PunchConnector implements Connector {
  readonly #ctx: ConnectorContext;
  readonly #rendezvous: Rendezvous;
  readonly #log: Logger | undefined;

  constructor(ctx: ConnectorContext, rendezvous: Rendezvous, logger?: Logger) {
    this.#ctx = ctx;
    this.#rendezvous = rendezvous;
    this.#log = logger;
  }

  async connect(peer: string): Promise<Connection> {
    const localPort = this.#rendezvous.punchPort;
    if (localPort === undefined) throw new NatterError(ERROR_CODES.PEER_UNREACHABLE, 'no directory connection to punch from');
    const meet = await this.#rendezvous.punch(peer);
    const signalled = performance.now();
    const socket = await simultaneousOpen(localPort, meet.ip, meet.port, PUNCH_DEADLINE_MS);
    this.#log?.debug({ peer, afterSignalMs: Math.round(performance.now() - signalled) }, 'punched');
    try {
      return { conn: await dialOver(this.#ctx, peer, socket, undefined, meet), kind: 'punched' };
    } catch (err) {
      socket.destroy();
      throw err;
    }
  }
}

/** Through the directory's relay. */
export class RelayConnector implements Connector {
  readonly #ctx: ConnectorContext;
  readonly #rendezvous: Rendezvous;

  constructor(ctx: ConnectorContext, rendezvous: Rendezvous) {
    this.#ctx = ctx;
    this.#rendezvous = rendezvous;
  }

  async connect(peer: string): Promise<Connection> {
    const { stream, initial, isFirst } = await this.#rendezvous.relay(peer);
    try {
      // The side whose RELAY came first dials; if the other side asked too, just before us, we accept.
      if (!isFirst) return { conn: await acceptOver(this.#ctx, stream, initial), kind: 'relay', isInbound: true };
      return { conn: await dialOver(this.#ctx, peer, stream, initial, { ip: 'relay', port: 0 }), kind: 'relay' };
    } catch (err) {
      stream.destroy();
      throw err;
    }
  }
}

/**
 * Tries connectors in turn until one gets through. A refusal about who the
 * peer is (a key that does not match, a name nobody knows) is final: no
 * other path would change it.
 */
export class FallbackConnector implements Connector {
  readonly #paths: readonly { kind: LinkKind; connector: Connector }[];

  constructor(paths: readonly { kind: LinkKind; connector: Connector }[]) {
    this.#paths = paths;
  }

  async connect(peer: string): Promise<Connection> {
    const failures: string[] = [];
    let last: unknown;
    for (const { kind, connector } of this.#paths) {
      try {
        return await connector.connect(peer);
      } catch (err) {
        if (isNatterError(err, ERROR_CODES.KEY_MISMATCH) || isNatterError(err, ERROR_CODES.UNKNOWN_PEER)) throw err;
        last = err;
        failures.push(`${kind}: ${(err as Error).message}`);
      }
    }
    if (failures.length === 1) throw last;
    throw new NatterError(ERROR_CODES.PEER_UNREACHABLE, `${peer} cannot be reached by any path (${failures.join('; ')})`, { cause: last });
  }
}

/**
 * Answers CALLs: another peer asked the directory to reach us. We dial the
 * punch address it gives from our directory connection's port, or open our
 * half of the relay; the connection that results is an inbound one, handed
 * to `adopt` to be identified like any other (CONN, then the key check).
 */
export function answerCalls(
  ctx: ConnectorContext,
  rendezvous: Rendezvous,
  adopt: (conn: FramedConnection, kind: LinkKind) => void,
  logger: Logger,
): void {
  const accept = async (stream: ByteStream, initial: Buffer | undefined, kind: LinkKind): Promise<void> => {
    adopt(await acceptOver(ctx, stream, initial), kind);
  };
  rendezvous.onCall((call: CallMessage) => {
    const answered =
      call.via === 'punch'
        ? (async () => {
            const localPort = rendezvous.punchPort;
            if (localPort === undefined) return;
            await accept(await simultaneousOpen(localPort, call.ip, call.port, PUNCH_DEADLINE_MS), undefined, 'punched');
          })()
        : (async () => {
            // A directory of several processes names the one holding the other half.
            const { stream, initial, isFirst } = await rendezvous.relay(
              call.name,
              call.ip === '' ? undefined : { ip: call.ip, port: call.port },
            );
            // Answering a call never makes us the dialer (that would open a chat nobody here asked for).
            if (isFirst) {
              stream.destroy();
              throw new NatterError(ERROR_CODES.UNEXPECTED_MESSAGE, 'the relay was joined with us first');
            }
            await accept(stream, initial, 'relay');
          })();
    answered.catch((err: unknown) =>
      logger.info({ peer: call.name, via: call.via, err: (err as Error).message }, 'could not answer a call'),
    );
  });
}

/**
 * The connectors for a peer with a directory's rendezvous: direct (given up
 * after DIRECT_CONNECT_MS), then punched, then relayed; and the one that
 * tries to move a relayed link onto a better path (direct, then punched).
 * Without a rendezvous, only direct.
 */
export function buildPaths(
  ctx: ConnectorContext,
  rendezvous: Rendezvous | undefined,
  logger?: Logger,
): { connector: Connector; upgrade: Connector | undefined } {
  if (rendezvous === undefined) return { connector: new DirectConnector(ctx), upgrade: undefined };
  const direct = { kind: 'direct' as const, connector: new DirectConnector(ctx, { connectTimeoutMs: DIRECT_CONNECT_MS }) };
  const punched = { kind: 'punched' as const, connector: new PunchConnector(ctx, rendezvous, logger) };
  const relay = { kind: 'relay' as const, connector: new RelayConnector(ctx, rendezvous) };
  return { connector: new FallbackConnector([direct, punched, relay]), upgrade: new FallbackConnector([direct, punched]) };
}
