/** `natter id`: show this user's public key fingerprint (the identity is made on first use). */
import { Command } from 'commander';
import { defaultIdentityFile, fingerprint, loadIdentityFor } from '../transport/identity.ts';
import { IDENTITY_FLAG, NEW_IDENTITY_FLAG, type IdentityFlags } from './identity-options.ts';

export function idCommand(): Command {
  return new Command('id')
    .description("print your identity's fingerprint, for friends to compare when you meet (made on first use)")
    .option(...IDENTITY_FLAG)
    .option(...NEW_IDENTITY_FLAG)
    .action((flags: IdentityFlags) => {
      const id = loadIdentityFor(flags.identity ?? defaultIdentityFile(), flags.identity === undefined || flags.newIdentity === true);
      if (id.isNew) process.stderr.write(`natter: created a new identity in ${id.file}\n`);
      process.stdout.write(
        `fingerprint: ${fingerprint(id.publicKey)}\npublic key:  ${id.publicKey.toString('hex')}\nfile:        ${id.file}\n`,
      );
    });
}
