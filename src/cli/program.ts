/**
 * The `natter` command line: a thin shell over the library (docs/architecture.md).
 * Each subcommand lives in its own file and is registered here.
 */
import { Command, type CommanderError } from 'commander';
import { ERROR_CODES, NatterError } from '../errors.ts';
import { PROTOCOL_VERSION } from '../protocol/messages.ts';
import { VERSION } from '../version.ts';
import { adminCommand } from './admin-command.ts';
import { chatCommand } from './chat-command.ts';
import { directoryCommand } from './directory-command.ts';
import { doctorCommand } from './doctor-command.ts';
import { idCommand } from './id-command.ts';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('natter')
    .description('Peer-to-peer chat for the terminal: a directory server and direct TCP chats between peers.')
    .version(`${VERSION} (protocol ${PROTOCOL_VERSION})`, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .addCommand(chatCommand(), { isDefault: true })
    .addCommand(directoryCommand())
    .addCommand(adminCommand())
    .addCommand(idCommand())
    .addCommand(doctorCommand());
  // Every error line looks the same (main.ts prints them): commander's own are turned into NatterErrors.
  const quiet = (cmd: Command): void => {
    cmd.exitOverride().configureOutput({ outputError: () => {} });
    for (const sub of cmd.commands) quiet(sub);
  };
  quiet(program);
  return program;
}

/**
 * A usage error from the command-line parser, as a NatterError worded like
 * every other error natter prints. Undefined for help and version, which are
 * not errors (their exit code is kept).
 */
export function usageError(err: CommanderError): NatterError | undefined {
  if (err.exitCode === 0 || err.code === 'commander.help' || err.code === 'commander.helpDisplayed' || err.code === 'commander.version')
    return undefined;
  let message = err.message.replace(/^error: /, '');
  // "option '--port <n>' argument '99999' is invalid. expected ..." → "--port: expected ..."
  const invalid = /^option '(-[^\s',]+|--[^\s',]+)[^']*' argument '.*' is invalid\. ([\s\S]*)$/.exec(message);
  if (invalid !== null) message = `${invalid[1] as string}: ${invalid[2] as string}`;
  const code = err.code === 'commander.unknownCommand' ? ERROR_CODES.UNKNOWN_COMMAND : ERROR_CODES.INVALID_ARGUMENT;
  const hint = code === ERROR_CODES.UNKNOWN_COMMAND ? 'the command list' : 'the options';
  return new NatterError(code, `${message.replace(/\.$/, '')}; --help shows ${hint}`, { cause: err });
}
