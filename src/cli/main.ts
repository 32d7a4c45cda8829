/** Entry point of the `natter` command (bin/natter.js). */
import { NatterError } from '../errors.ts';
import { buildProgram } from './program.ts';

try {
  await buildProgram().parseAsync(process.argv);
  // Commands resolve once their work is done; whatever handles remain (timers, sockets) must not keep us.
  process.exit(process.exitCode ?? 0);
} catch (err) {
  if (err instanceof NatterError) {
    process.stderr.write(`natter: ${err.message} (${err.code})\n`);
  } else {
    process.stderr.write(`natter: unexpected failure, please report it: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
  process.exit(1);
}
