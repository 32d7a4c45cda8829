/** The typed line and the JSON commands: addresses, /history, /outbox and /drop, and their bad inputs (the rest is exercised through real processes). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ERROR_CODES, NatterError, type NatterErrorCode } from '../../../src/errors.ts';
import { parseJsonCommand } from '../../../src/cli/ui/json-ui.ts';
import { DEFAULT_HISTORY_LINES, MAX_HISTORY_LINES, parseTyped } from '../../../src/cli/ui/input.ts';

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

describe('friend/message', () => {
  it('addresses a friend when the first word runs into a slash', () => {
    assert.deepEqual(parseTyped('bob/hi there'), { kind: 'send', to: 'bob', text: 'hi there' });
    assert.deepEqual(parseTyped('bob/a/b'), { kind: 'send', to: 'bob', text: 'a/b' });
  });

  it('is a plain message when words come before the slash, or the line starts with a URL', () => {
    assert.deepEqual(parseTyped('see http://example.org'), { kind: 'send', to: undefined, text: 'see http://example.org' });
    assert.deepEqual(parseTyped('https://example.org/x'), { kind: 'send', to: undefined, text: 'https://example.org/x' });
    assert.deepEqual(parseTyped('1 / 2'), { kind: 'send', to: undefined, text: '1 / 2' });
  });

  it('refuses a name part that is not a valid name, rather than sending the line elsewhere', () => {
    for (const line of [`${'a'.repeat(33)}/hello`, 'bad\u0007name/hello']) {
      assert.throws(() => parseTyped(line), (e: unknown) => hasCode(ERROR_CODES.INVALID_NAME)(e) && /nothing was sent/.test((e as Error).message), line);
    }
  });
});

describe('/outbox and /drop', () => {
  it('parse, with a name for /drop', () => {
    assert.deepEqual(parseTyped('/outbox'), { kind: 'outbox' });
    assert.deepEqual(parseTyped('/drop bob'), { kind: 'drop', name: 'bob' });
    assert.throws(() => parseTyped('/drop'), hasCode(ERROR_CODES.BAD_COMMAND));
    assert.deepEqual(parseJsonCommand('{"cmd":"outbox"}'), { cmd: 'outbox' });
    assert.deepEqual(parseJsonCommand('{"cmd":"drop","to":"bob"}'), { cmd: 'drop', to: 'bob' });
    assert.throws(() => parseJsonCommand('{"cmd":"drop"}'), hasCode(ERROR_CODES.BAD_COMMAND));
  });
});
