#!/usr/bin/env node
// The `natter` command. Plain JavaScript so that an unsupported Node gets a clear message instead of a syntax error.
const [major] = process.versions.node.split('.').map(Number);
if (major < 22) {
  process.stderr.write(
    `natter needs Node.js 22 or newer; this is ${process.version}.\n` +
      'Run it through npm (npm start -- ARGS), which uses the Node.js the project installs, or install a current Node.js.\n',
  );
  process.exit(1);
}
try {
  await import('../dist/cli/main.js');
} catch (err) {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli/main.js')) {
    process.stderr.write('natter is not built yet: run `npm run build` (or `npm start`, which builds first).\n');
    process.exit(1);
  }
  throw err;
}
