// Makes a fresh clone runnable by `npm start` and `npm test` alone: installs the
// locked dependencies when they are missing or older than package-lock.json, then
// builds (incrementally: a no-op when nothing changed). Runs on whatever Node.js
// npm itself runs on, so it stays plain JavaScript.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const lockfile = join(root, 'package-lock.json');
const installed = join(root, 'node_modules', '.package-lock.json');
const lockDir = join(root, '.install-lock');
const LOCK_WAIT_MS = 300_000;

function isInstalled() {
  return existsSync(installed) && statSync(installed).mtimeMs >= statSync(lockfile).mtimeMs;
}

function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** True when the lock was left behind by a process that no longer runs (say, one stopped with Ctrl-C). */
function isStale() {
  try {
    process.kill(Number(readFileSync(join(lockDir, 'pid'), 'utf8')), 0);
    return false;
  } catch (err) {
    return err.code === 'ESRCH' || err.code === 'ENOENT';
  }
}

function run(cmd, args) {
  execFileSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
}

// Two terminals started at once must not install or build over each other:
// one works, the other waits for it and then finds nothing left to do.
for (let waited = 0; ; waited += 200) {
  try {
    mkdirSync(lockDir);
    writeFileSync(join(lockDir, 'pid'), String(process.pid));
    break;
  } catch {
    if (waited > 1000 && isStale()) rmSync(lockDir, { recursive: true, force: true });
    if (waited > LOCK_WAIT_MS) {
      process.stderr.write(`natter: ${lockDir} has been held for 5 minutes; remove it if no install is running.\n`);
      process.exit(1);
    }
    sleep(200);
  }
}
try {
  if (!isInstalled()) {
    process.stderr.write('natter: installing dependencies (npm ci), once...\n');
    run('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error']);
  }
  run(join(root, 'node_modules', '.bin', 'tsc'), ['-p', join(root, 'tsconfig.json')]);
  // The test runner writes its lcov report here and does not create the folder itself.
  mkdirSync(join(root, 'coverage'), { recursive: true });
} finally {
  rmSync(lockDir, { recursive: true, force: true });
}
