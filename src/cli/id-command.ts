/** `natter id`: show this user's public key fingerprint (the identity is made on first use). */
import { Command } from 'commander';
import { defaultIdentityFile, fingerprint, loadOrCreateIdentity } from '../transport/identity.ts';

export function idCommand(): Command {
  return new Command('id')
    .description("print your identity's fingerprint, for friends to compare when you meet (made on first use)")
    .option('--identity <file>', 'identity file (default: $XDG_CONFIG_HOME/natter/identity.json)')
    .action((flags: { identity?: string }) => {
      const id = loadOrCreateIdentity(flags.identity ?? defaultIdentityFile());
      if (id.isNew) process.stderr.write(`natter: created a new identity in ${id.file}\n`);
      process.stdout.write(`fingerprint: ${fingerprint(id.publicKey)}\npublic key:  ${id.publicKey.toString('hex')}\nfile:        ${id.file}\n`);
    });
}
