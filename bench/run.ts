/** `npm run bench`: every benchmark, each printed beside its same-run baseline. */
import { printChat, runChatBench } from './chat.ts';
import { printCodec, runCodecBench } from './codec.ts';
import { printDelivery, runDeliveryBench } from './delivery.ts';
import { printDirectory, runDirectoryBench } from './directory.ts';
import { printRedisBench, runRedisBench } from './directory-redis.ts';
import { printHandshake, runHandshakeBench } from './handshake.ts';
import { printReach, runReachBench } from './reach.ts';
import { printTui, runTuiBench } from './tui.ts';

console.log(`natter benchmarks on Node ${process.version}, ${new Date().toISOString()}\n`);
printCodec(runCodecBench());
console.log('');
printChat(await runChatBench());
console.log('');
printDelivery(await runDeliveryBench());
console.log('');
printHandshake(await runHandshakeBench());
console.log('');
printDirectory(await runDirectoryBench());
console.log('');
printRedisBench(await runRedisBench());
console.log('');
printReach(await runReachBench());
console.log('');
printTui(await runTuiBench());
