/**
 * A process for the LAN tests to run inside a network namespace (the test
 * process itself cannot enter one): JSON options as its argument, JSON lines
 * out, JSON commands in.
 *
 *   peer:  a LanDiscovery (browse() instead of start() with isBrowsingOnly); prints ready, up, down, log (what it logs), list (on {"cmd":"list"}),
 *          stopped (on {"cmd":"stop"}, after its goodbye).
 *   rogue: sends the announcements it is given as raw records, on {"cmd":"send"} and at start; prints sent.
 */
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import multicastDns from 'multicast-dns';
import { LanDiscovery, type LanTimings } from '../../src/discovery/lan.ts';
import type { LanLimits } from '../../src/discovery/lan-records.ts';
import type { Logger } from '../../src/log.ts';

export type LanNodeOptions =
  | {
      mode: 'peer';
      name: string;
      port: number;
      interface?: string;
      timings?: Partial<LanTimings>;
      limits?: Partial<LanLimits>;
      isBrowsingOnly?: boolean;
    }
  | { mode: 'rogue'; interface: string; packets: multicastDns.DnsPacket[] };

/** Records as JSON carries them: TXT data as arrays of strings, turned back into bytes here. */
function revive(packet: multicastDns.DnsPacket): multicastDns.DnsPacket {
  return {
    answers: (packet.answers ?? []).map((r) =>
      r.type === 'TXT' && Array.isArray(r.data) ? { ...r, data: r.data.map((e: unknown) => Buffer.from(String(e), 'latin1')) } : r,
    ),
  };
}

const print = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`);

async function main(): Promise<void> {
  const o = JSON.parse(process.argv[2] ?? '{}') as LanNodeOptions;
  const commands = createInterface({ input: process.stdin });
  if (o.mode === 'rogue') {
    const mdns = multicastDns({ interface: o.interface, bind: '0.0.0.0' });
    mdns.on('warning', () => {});
    const send = async () => {
      for (const p of o.packets) await new Promise<void>((resolve) => mdns.respond(revive(p), () => resolve()));
      print({ type: 'sent' });
    };
    mdns.once('ready', () => void send());
    for await (const line of commands) {
      if ((JSON.parse(line) as { cmd: string }).cmd === 'send') await send();
      else break;
    }
    mdns.destroy();
    return;
  }
  const log = (level: string) => (fields: object, msg: string) => print({ type: 'log', level, msg, ...fields });
  const logger: Logger = { debug: () => {}, info: log('info'), warn: log('warn'), error: log('error') };
  const lan = new LanDiscovery({
    name: o.name,
    publicKey: randomBytes(32),
    logger,
    ...(o.interface === undefined ? {} : { interface: o.interface }),
    ...(o.timings === undefined ? {} : { timings: o.timings }),
    ...(o.limits === undefined ? {} : { limits: o.limits }),
  });
  const info = (p: { name: string; ip: string; port: number; key?: Buffer | undefined }) => ({
    name: p.name,
    ip: p.ip,
    port: p.port,
    key: p.key?.toString('hex'),
  });
  lan.on('up', (p) => print({ type: 'up', ...info(p) }));
  lan.on('down', (p, reason) => print({ type: 'down', ...info(p), reason }));
  if (o.isBrowsingOnly === true) await lan.browse();
  else await lan.start(o.port);
  print({ type: 'ready', key: lan.publicKey.toString('hex') });
  for await (const line of commands) {
    const { cmd } = JSON.parse(line) as { cmd: string };
    if (cmd === 'list') print({ type: 'list', peers: (await lan.list()).map(info) });
    if (cmd === 'stop') break;
  }
  await lan.stop();
  print({ type: 'stopped' });
}

await main();
