/** `natter admin shutdown|dump`: administrator requests to a directory. */
import { Command, Option } from 'commander';
import { DirectoryClient } from '../peer/directory-client.ts';
import { parseHostPort, type HostPort } from './parse.ts';
import { readTokenFile } from './secrets.ts';

interface AdminFlags {
  directory: HostPort;
  tokenFile: string;
}

function withTarget(cmd: Command): Command {
  return cmd
    .addOption(new Option('--directory <host:port>', 'the directory to talk to').argParser(parseHostPort).makeOptionMandatory())
    .requiredOption('--token-file <file>', 'file holding the administrator token');
}

async function connect(flags: AdminFlags): Promise<DirectoryClient> {
  return DirectoryClient.connect({ host: flags.directory.host, port: flags.directory.port });
}

export function adminCommand(): Command {
  const admin = new Command('admin').description('administrator requests to a directory (need its admin token)');
  admin.addCommand(
    withTarget(new Command('shutdown').description('stop the directory; it tells every registered peer to shut down')).action(
      async (flags: AdminFlags) => {
        const token = readTokenFile(flags.tokenFile);
        const client = await connect(flags);
        await client.shutdown(token);
        process.stdout.write(`directory ${flags.directory.host}:${flags.directory.port} is shutting down\n`);
        await client.close();
      },
    ),
  );
  admin.addCommand(
    withTarget(new Command('dump').description("print the directory's internal state as JSON")).action(async (flags: AdminFlags) => {
      const token = readTokenFile(flags.tokenFile);
      const client = await connect(flags);
      const state = await client.dump(token);
      process.stdout.write(`${JSON.stringify(state, null, 2)}\n`);
      await client.close();
    }),
  );
  return admin;
}
