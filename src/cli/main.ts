/** Entry point of the `natter` command (bin/natter.js). */
import { buildProgram } from './program.ts';

await buildProgram().parseAsync(process.argv);
