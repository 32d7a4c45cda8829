/** `natter admin shutdown|dump`: administrator requests to a directory, authorised by the user's key. */
import { Command, Option } from 'commander';
import { DirectoryClient } from '../discovery/directory-client.ts';
import { directoryPinning } from '../chat/directory-pinning.ts';
import { IDENTITY_FLAG, NEW_IDENTITY_FLAG, loadCredentials, type IdentityFlags } from './identity-options.ts';
import { parseHostPort, type HostPort } from './parse.ts';

interface AdminFlags extends IdentityFlags {
  directory: HostPort;
  trustDirectory: boolean;
}

function withTarget(cmd: Command): Command {
  return cmd
    .addOption(new Option('--directory <host:port>', 'the directory to talk to').argParser(parseHostPort).makeOptionMandatory())
    .option(...IDENTITY_FLAG)
    .option(...NEW_IDENTITY_FLAG)
    .option('--trust-directory', "accept the directory's key even if it differs from the one pinned before", false);
}

/** Connects with the user's identity: the directory checks that key against its admin keys. */
async function connect(flags: AdminFlags): Promise<DirectoryClient> {
  const { keyPair, known } = loadCredentials(flags);
  const { host, port } = flags.directory;
  return DirectoryClient.connect({ host, port, keyPair, verifyKey: directoryPinning(`${host}:${port}`, known, flags.trustDirectory) });
}

export function adminCommand(): Command {
  const admin = new Command('admin').description('administrator requests to a directory (your key must be in its admin keys)');
  admin.addCommand(
    withTarget(new Command('shutdown').description('stop the directory; it tells every registered peer to shut down')).action(
      async (flags: AdminFlags) => {
        const client = await connect(flags);
        await client.shutdown();
        process.stdout.write(`directory ${flags.directory.host}:${flags.directory.port} is shutting down\n`);
        await client.close();
      },
    ),
  );
  admin.addCommand(
    withTarget(new Command('dump').description("print the directory's internal state as JSON")).action(async (flags: AdminFlags) => {
      const client = await connect(flags);
      const state = await client.dump();
      process.stdout.write(`${JSON.stringify(state, null, 2)}\n`);
      await client.close();
    }),
  );
  return admin;
}
