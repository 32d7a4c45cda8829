/** `npm run bench`: every benchmark, each printed beside its same-run baseline. */
import { printCodec, runCodecBench } from './codec.ts';

console.log(`natter benchmarks on Node ${process.version}, ${new Date().toISOString()}\n`);
printCodec(runCodecBench());
