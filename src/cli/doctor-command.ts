/** `natter doctor`: can this machine chat, and how will peers reach it (docs/chat.md, "Reaching peers"). */
import { Command, Option } from 'commander';
import { DEFAULT_DIRECTORY_PORT } from '../defaults.ts';
import { countLanPeers, runDoctor } from '../discovery/doctor.ts';
import { IDENTITY_FLAG, NEW_IDENTITY_FLAG, loadCredentials, type IdentityFlags } from './identity-options.ts';
import { parseHostPort, parsePort, parseSeconds, type HostPort } from './parse.ts';

interface DoctorFlags extends IdentityFlags {
  directory?: HostPort;
  json: boolean;
  port: number;
  lan: boolean;
  lanWait: number;
}

export function doctorCommand(): Command {
  return new Command('doctor')
    .description('check whether this machine can chat: the directory, NAT, whether peers can reach you, the LAN, the relay')
    .addOption(
      new Option('--directory <host:port>', `the directory to ask (default: the local one, 127.0.0.1:${DEFAULT_DIRECTORY_PORT})`).argParser(
        parseHostPort,
      ),
    )
    .addOption(
      new Option('--port <n>', 'port to listen on while the directory tries to reach it (0: any free one)')
        .default(0)
        .argParser((v) => parsePort(v)),
    )
    .option('--no-lan', 'do not look for peers on the LAN')
    .addOption(new Option('--lan-wait <seconds>', 'how long to listen for peers on the LAN').default(1_500, '1.5').argParser(parseSeconds))
    .option(...IDENTITY_FLAG)
    .option(...NEW_IDENTITY_FLAG)
    .option('--json', 'print one JSON object instead of lines for people', false)
    .action(async (flags: DoctorFlags) => {
      const { keyPair, known } = loadCredentials(flags);
      const { host, port } = flags.directory ?? { host: '127.0.0.1', port: DEFAULT_DIRECTORY_PORT };
      const report = await runDoctor({
        host,
        port,
        keyPair,
        pinned: known.directory(`${host}:${port}`)?.key,
        listenPort: flags.port,
        ...(flags.lan ? { lanPeers: () => countLanPeers({ publicKey: keyPair.publicKey, waitMs: flags.lanWait }) } : {}),
      });
      if (flags.json) {
        const { lines: _lines, ...data } = report;
        process.stdout.write(`${JSON.stringify(data)}\n`);
      } else {
        process.stdout.write(`natter doctor\n${report.lines.map((l) => `  ${l}`).join('\n')}\n`);
      }
      if (!report.ok) process.exitCode = 1;
    });
}
