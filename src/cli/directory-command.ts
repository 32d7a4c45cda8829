/** `natter directory`: run a directory server until SHUTDOWN, SIGINT or SIGTERM. */
import { Command, Option } from 'commander';
import { DirectoryServer } from '../directory/server.ts';
import { DIRECTORY_DEFAULTS } from '../directory/options.ts';
import { DEFAULT_DIRECTORY_PORT } from '../defaults.ts';
import { stderrLogger } from './logger.ts';
import {
  parseAdvertise,
  parseHost,
  parseLogLevel,
  parsePort,
  parsePortRange,
  parsePositiveInt,
  parsePositiveNumber,
  parseSeconds,
  type HostPort,
  type LogLevel,
} from './parse.ts';
import { fingerprint } from '../transport/identity.ts';
import { IDENTITY_FLAG, NEW_IDENTITY_FLAG, loadCredentials } from './identity-options.ts';
import { readKeyFile, readSecretFile } from './secrets.ts';
import { RedisStore } from '../directory/store/redis-store.ts';
import type { Logger } from '../log.ts';

/** The shared store for --redis; the password comes from a file or the environment rather than the command line. */
async function openRedisStore(url: string, flags: DirectoryFlags, logger: Logger): Promise<RedisStore> {
  const fromEnv = process.env.NATTER_REDIS_PASSWORD;
  const password =
    flags.redisPasswordFile === undefined
      ? fromEnv === undefined || fromEnv === ''
        ? undefined
        : fromEnv
      : readSecretFile(flags.redisPasswordFile, 'Redis password');
  if (/^rediss?:\/\/[^/@]*:[^/@]*@/.test(url)) {
    logger.warn(
      {},
      'the Redis URL carries a password, which other users of this machine can see; use --redis-password-file or NATTER_REDIS_PASSWORD',
    );
  }
  return RedisStore.connect({ url, portRange: flags.portRange, logger, ...(password === undefined ? {} : { password }) });
}

interface DirectoryFlags {
  host: string;
  port: number;
  aliveInterval: number;
  portRange: { lo: number; hi: number };
  adminKeys?: string;
  identity?: string;
  newIdentity: boolean;
  registerTimeout: number;
  maxClients: number;
  maxPerIp: number;
  loopbackExempt: boolean;
  rateBurst: number;
  rate: number;
  maxDelayed: number;
  maxQueueBytes: number;
  handshakeThreads: number;
  relay: boolean;
  relayMaxLinks: number;
  relayMaxPerClient: number;
  relayRate: number;
  relayIdleTimeout: number;
  logLevel: LogLevel;
  redis?: string;
  redisPasswordFile?: string;
  advertise?: HostPort;
}

const d = DIRECTORY_DEFAULTS;

export function directoryCommand(): Command {
  return new Command('directory')
    .description('run a directory server: peers register, heartbeat and list who is online (it never carries chat text)')
    .addOption(new Option('--host <address>', 'address to listen on').default('127.0.0.1').argParser(parseHost))
    .addOption(new Option('--port <n>', 'TCP port; 0 picks a free one').default(DEFAULT_DIRECTORY_PORT).argParser((v) => parsePort(v)))
    .addOption(
      new Option('--alive-interval <seconds>', 'how often peers send ALIVE; silent for two intervals = offline')
        .default(d.aliveIntervalMs, String(d.aliveIntervalMs / 1000))
        .argParser(parseSeconds),
    )
    .addOption(
      new Option('--port-range <lo-hi>', 'ports assigned to peers')
        .default(d.portRange, `${d.portRange.lo}-${d.portRange.hi}`)
        .argParser(parsePortRange),
    )
    .option(
      '--admin-keys <file>',
      "public keys (one per line, as natter id prints them) allowed to send SHUTDOWN and DUMP (default: the directory's own key)",
    )
    .option(...IDENTITY_FLAG)
    .option(...NEW_IDENTITY_FLAG)
    .addOption(
      new Option('--register-timeout <seconds>', 'deadline from accepting a connection to its UP, the handshake included')
        .default(d.registerTimeoutMs, String(d.registerTimeoutMs / 1000))
        .argParser(parseSeconds),
    )
    .addOption(new Option('--max-clients <n>', 'most connections at once').default(d.maxClients).argParser(parsePositiveInt))
    .addOption(
      new Option('--max-per-ip <n>', 'most connections at once from one address')
        .default(d.maxConnectionsPerIp)
        .argParser(parsePositiveInt),
    )
    .option('--no-loopback-exempt', 'hold loopback addresses to --max-per-ip too')
    .addOption(new Option('--rate-burst <n>', 'commands a client may send at once').default(d.rateBurst).argParser(parsePositiveInt))
    .addOption(
      new Option('--rate <per-second>', 'steady commands per second per client').default(d.ratePerSecond).argParser(parsePositiveNumber),
    )
    .addOption(
      new Option('--max-delayed <n>', 'commands over the rate in a row before a client is disconnected')
        .default(d.maxDelayedCommands)
        .argParser(parsePositiveInt),
    )
    .addOption(
      new Option('--max-queue-bytes <n>', 'bytes queued to a client that is not reading before it is cut off')
        .default(d.maxQueueBytes)
        .argParser(parsePositiveInt),
    )
    .addOption(
      new Option('--handshake-threads <n>', "worker threads for the handshakes' cryptography (0: the main thread does it)")
        .default(d.handshakeThreads)
        // A whole number; 0 is allowed, and the directory checks the upper bound.
        .argParser((v) => (/^\d+$/.test(v) ? Number(v) : parsePositiveInt(v))),
    )
    .option('--no-relay', 'do not relay for peers that cannot reach each other (relaying is on by default)')
    .addOption(new Option('--relay-max-links <n>', 'relayed links at once, at most').default(d.relayMaxLinks).argParser(parsePositiveInt))
    .addOption(
      new Option('--relay-max-per-client <n>', 'relayed links at once for one client, at most')
        .default(d.relayMaxPerClient)
        .argParser(parsePositiveInt),
    )
    .addOption(
      new Option('--relay-rate <bytes-per-second>', 'bytes per second each relayed link may carry, each way')
        .default(d.relayBytesPerSecond)
        .argParser(parsePositiveInt),
    )
    .addOption(
      new Option('--relay-idle-timeout <seconds>', 'close a relayed link that carries nothing for this long')
        .default(d.relayIdleTimeoutMs, String(d.relayIdleTimeoutMs / 1000))
        .argParser(parseSeconds),
    )
    .addOption(
      new Option('--log-level <level>', 'trace, debug, info, warn, error, fatal or silent').default('info').argParser(parseLogLevel),
    )
    .option(
      '--redis <url>',
      'keep the online list in Redis, shared with every directory process given the same URL: redis://[user@]HOST:PORT[/DB] or rediss://',
    )
    .option('--redis-password-file <file>', 'the Redis password, read from this file (else $NATTER_REDIS_PASSWORD, else the URL)')
    .addOption(
      new Option(
        '--advertise <ip:port>',
        'with --redis: the address peers reach this process at, named in relay calls (default: the address a peer reached it at)',
      ).argParser(parseAdvertise),
    )
    .action(async (flags: DirectoryFlags) => {
      const logger = stderrLogger(flags.logLevel, 'natter-directory');
      const { keyPair } = loadCredentials(flags);
      const store = flags.redis === undefined ? undefined : await openRedisStore(flags.redis, flags, logger);
      const server = new DirectoryServer({
        aliveIntervalMs: flags.aliveInterval,
        portRange: flags.portRange,
        keyPair,
        ...(flags.adminKeys === undefined ? {} : { adminKeys: readKeyFile(flags.adminKeys) }),
        registerTimeoutMs: flags.registerTimeout,
        maxClients: flags.maxClients,
        maxConnectionsPerIp: flags.maxPerIp,
        isLoopbackExempt: flags.loopbackExempt,
        rateBurst: flags.rateBurst,
        ratePerSecond: flags.rate,
        maxDelayedCommands: flags.maxDelayed,
        maxQueueBytes: flags.maxQueueBytes,
        handshakeThreads: flags.handshakeThreads,
        isRelaying: flags.relay,
        relayMaxLinks: flags.relayMaxLinks,
        relayMaxPerClient: flags.relayMaxPerClient,
        relayBytesPerSecond: flags.relayRate,
        relayIdleTimeoutMs: flags.relayIdleTimeout,
        ...(store === undefined ? {} : { store }),
        ...(flags.advertise === undefined ? {} : { advertise: flags.advertise }),
        logger,
      });
      const address = await server.listen(flags.port, flags.host).catch(async (err: unknown) => {
        await store?.close();
        throw err;
      });
      const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      process.stdout.write(`natter directory listening on ${shown}:${address.port}\nkey fingerprint: ${fingerprint(keyPair.publicKey)}\n`);
      // One process of several (--redis): a signal stops this one only, and its peers reconnect to the
      // others; SHUTDOWN (natter admin) is what stops the whole directory.
      const stop = (signal: string) => () => void (store === undefined ? server.shutdown(signal) : server.close(signal));
      process.once('SIGINT', stop('SIGINT'));
      process.once('SIGTERM', stop('SIGTERM'));
      await new Promise<void>((resolve) => server.once('shutdown', () => resolve()));
    });
}
