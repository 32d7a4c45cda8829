import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ERROR_CODES, NatterError, isNatterError, isNatterErrorCode } from '../src/errors.ts';

const root = new URL('..', import.meta.url).pathname;
const doc = readFileSync(join(root, 'docs/errors.md'), 'utf8');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('error codes', () => {
  it('every code written in src/ is documented in docs/errors.md', () => {
    const used = new Set<string>();
    for (const file of sourceFiles(join(root, 'src'))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/NATTER_ERR_[A-Z0-9_]+/g)) used.add(m[0]);
    }
    assert.ok(used.size > 0);
    const missing = [...used].filter((code) => !doc.includes(`\`${code}\``));
    assert.deepEqual(missing, [], 'codes missing from docs/errors.md');
  });

  it('every documented code exists in ERROR_CODES', () => {
    const documented = [...doc.matchAll(/`(NATTER_ERR_[A-Z0-9_]+)`/g)].map((m) => m[1] as string);
    assert.deepEqual(
      documented.filter((c) => !isNatterErrorCode(c)),
      [],
    );
  });

  it('codes are unique and follow the naming rule', () => {
    const values = Object.values(ERROR_CODES);
    assert.equal(new Set(values).size, values.length);
    for (const [key, value] of Object.entries(ERROR_CODES)) assert.equal(value, `NATTER_ERR_${key}`);
  });

  it('NatterError carries code and cause', () => {
    const cause = new Error('root');
    const err = new NatterError(ERROR_CODES.TIMEOUT, 'too slow', { cause });
    assert.equal(err.code, 'NATTER_ERR_TIMEOUT');
    assert.equal(err.cause, cause);
    assert.equal(err.name, 'NatterError');
    assert.ok(isNatterError(err));
    assert.ok(isNatterError(err, ERROR_CODES.TIMEOUT));
    assert.ok(!isNatterError(err, ERROR_CODES.MALFORMED));
    assert.ok(!isNatterError(cause));
  });
});
