/** The typed line and the JSON commands: /history and its bad inputs (the other commands are exercised through real processes). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ERROR_CODES, NatterError, type NatterErrorCode } from '../../src/errors.ts';
import { parseJsonCommand } from '../../src/cli/json-ui.ts';
import { DEFAULT_HISTORY_LINES, MAX_HISTORY_LINES, parseTyped } from '../../src/cli/input.ts';

const hasCode = (code: NatterErrorCode) => (e: unknown) => e instanceof NatterError && e.code === code;

describe('/history', () => {
  it('takes a name and an optional count', () => {
    assert.deepEqual(parseTyped('/history bob'), { kind: 'history', name: 'bob', count: DEFAULT_HISTORY_LINES });
    assert.deepEqual(parseTyped('/history bob 5'), { kind: 'history', name: 'bob', count: 5 });
    assert.deepEqual(parseTyped(`/HISTORY bob ${MAX_HISTORY_LINES}`), { kind: 'history', name: 'bob', count: MAX_HISTORY_LINES });
  });

  for (const [line, why] of [
    ['/history', 'no name'],
    ['/history bob 0', 'zero lines'],
    ['/history bob -3', 'a negative count'],
    ['/history bob 2.5', 'a fraction'],
    ['/history bob ten', 'not a number'],
    [`/history bob ${MAX_HISTORY_LINES + 1}`, 'more than the most'],
    ['/history bob 5 6', 'a word too many'],
    ['/history bad\u0007name', 'an invalid name'],
  ] as const) {
    it(`refuses ${why} with NATTER_ERR_BAD_COMMAND`, () => {
      assert.throws(() => parseTyped(line), hasCode(ERROR_CODES.BAD_COMMAND));
    });
  }

  it('in JSON: "with" is required, "count" optional and bounded', () => {
    assert.deepEqual(parseJsonCommand('{"cmd":"history","with":"bob"}'), { cmd: 'history', with: 'bob' });
    assert.deepEqual(parseJsonCommand('{"cmd":"history","with":"bob","count":3}'), { cmd: 'history', with: 'bob', count: 3 });
    for (const bad of ['{"cmd":"history"}', '{"cmd":"history","with":"bob","count":0}', '{"cmd":"history","with":"bob","count":"3"}', `{"cmd":"history","with":"bob","count":${MAX_HISTORY_LINES + 1}}`]) {
      assert.throws(() => parseJsonCommand(bad), hasCode(ERROR_CODES.BAD_COMMAND), bad);
    }
  });
});
