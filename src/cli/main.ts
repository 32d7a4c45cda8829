/** Entry point of the `natter` command (bin/natter.js). */
import { CommanderError } from 'commander';
import { NatterError } from '../errors.ts';
import { buildProgram, usageError } from './program.ts';

/** One style for every error line: `natter: what went wrong and what to do (CODE)`. */
function fail(err: NatterError): never {
  process.stderr.write(`natter: ${err.message} (${err.code})\n`);
  process.exit(1);
}

try {
  await buildProgram().parseAsync(process.argv);
  // Commands resolve once their work is done; whatever handles remain (timers, sockets) must not keep us.
  process.exit(process.exitCode ?? 0);
} catch (err) {
  if (err instanceof CommanderError) {
    const usage = usageError(err);
    if (usage === undefined) process.exit(err.exitCode);
    fail(usage);
  }
  if (err instanceof NatterError) fail(err);
  process.stderr.write(
    `natter: unexpected failure, please report it: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
}
