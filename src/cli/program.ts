/**
 * The `natter` command line: a thin shell over the library (docs/architecture.md).
 * Each subcommand lives in its own file and is registered here.
 */
import { Command } from 'commander';
import { PROTOCOL_VERSION } from '../protocol/messages.ts';
import { VERSION } from '../version.ts';
import { adminCommand } from './admin-command.ts';
import { chatCommand } from './chat-command.ts';
import { directoryCommand } from './directory-command.ts';
import { idCommand } from './id-command.ts';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('natter')
    .description('Peer-to-peer chat for the terminal: a directory server and direct TCP chats between peers.')
    .version(`${VERSION} (protocol ${PROTOCOL_VERSION})`, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .showHelpAfterError('(run natter --help for usage)')
    .addCommand(chatCommand(), { isDefault: true })
    .addCommand(directoryCommand())
    .addCommand(adminCommand())
    .addCommand(idCommand());
  return program;
}
