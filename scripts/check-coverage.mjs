// Fails unless every file under src/protocol/ has 100% of its lines covered,
// reading the lcov report `npm test` writes to coverage/lcov.info.
import { readFileSync } from 'node:fs';

const REQUIRED = [{ prefix: 'src/protocol/', lines: 100 }];
const report = readFileSync(new URL('../coverage/lcov.info', import.meta.url), 'utf8');
const root = new URL('..', import.meta.url).pathname;
let failed = false;
let checked = 0;
for (const record of report.split('end_of_record')) {
  const file = /^SF:(.+)$/m.exec(record)?.[1]?.replace(root, '');
  if (file === undefined) continue;
  const rule = REQUIRED.find((r) => file.startsWith(r.prefix));
  if (rule === undefined) continue;
  const found = Number(/^LF:(\d+)$/m.exec(record)?.[1] ?? 0);
  const hit = Number(/^LH:(\d+)$/m.exec(record)?.[1] ?? 0);
  const pct = found === 0 ? 100 : (100 * hit) / found;
  checked++;
  if (pct < rule.lines) {
    const missed = [...record.matchAll(/^DA:(\d+),0$/gm)].map((m) => m[1]).join(', ');
    console.error(`coverage: ${file} has ${pct.toFixed(2)}% of lines covered, ${rule.lines}% required; uncovered lines: ${missed}`);
    failed = true;
  }
}
if (checked === 0) {
  console.error('coverage: no src/protocol/ files in coverage/lcov.info');
  failed = true;
}
if (failed) process.exit(1);
console.log(`coverage: all ${checked} files under src/protocol/ have 100% of lines covered`);
