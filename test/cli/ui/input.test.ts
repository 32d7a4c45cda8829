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
    for (const bad of [
      '{"cmd":"history"}',
      '{"cmd":"history","with":"bob","count":0}',
      '{"cmd":"history","with":"bob","count":"3"}',
      `{"cmd":"history","with":"bob","count":${MAX_HISTORY_LINES + 1}}`,
    ]) {
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
      assert.throws(
        () => parseTyped(line),
        (e: unknown) => hasCode(ERROR_CODES.INVALID_NAME)(e) && /nothing was sent/.test((e as Error).message),
        line,
      );
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

describe('rooms', () => {
  it('typed: /room create, /rooms, /invite, /join, /leave, /kick, /members, /history #ROOM and #ROOM/message', () => {
    const room = (command: unknown) => ({ kind: 'room', command });
    assert.deepEqual(parseTyped('/room create club'), room({ cmd: 'room-create', name: 'club' }));
    assert.deepEqual(parseTyped('/room create #club'), room({ cmd: 'room-create', name: 'club' }));
    assert.deepEqual(parseTyped('/rooms'), room({ cmd: 'room-list' }));
    assert.deepEqual(parseTyped('/room list'), room({ cmd: 'room-list' }));
    assert.deepEqual(parseTyped('/invite club bob'), room({ cmd: 'room-invite', room: 'club', to: 'bob' }));
    assert.deepEqual(parseTyped('/join #club'), room({ cmd: 'room-join', room: 'club' }));
    assert.deepEqual(parseTyped('/leave club'), room({ cmd: 'room-leave', room: 'club' }));
    assert.deepEqual(parseTyped('/kick club bob'), room({ cmd: 'room-kick', room: 'club', name: 'bob' }));
    assert.deepEqual(
      parseTyped('/members 00112233445566778899aabbccddeeff'),
      room({ cmd: 'room-members', room: '00112233445566778899aabbccddeeff' }),
    );
    assert.deepEqual(parseTyped('/history #club 5'), room({ cmd: 'room-history', room: 'club', count: 5 }));
    assert.deepEqual(parseTyped('#club/hi all'), room({ cmd: 'room-send', room: 'club', text: 'hi all' }));
    // /decline #ROOM is a room's; /decline NAME may be a chat request's (the UI knows which invitations wait).
    assert.deepEqual(parseTyped('/decline #club'), room({ cmd: 'room-decline', room: 'club' }));
    assert.deepEqual(parseTyped('/decline club'), { kind: 'decline', name: 'club' });
  });

  for (const [line, code] of [
    ['/room create', ERROR_CODES.BAD_COMMAND],
    ['/room create two words', ERROR_CODES.BAD_COMMAND],
    ['/room fly', ERROR_CODES.BAD_COMMAND],
    ['/invite club', ERROR_CODES.BAD_COMMAND],
    ['/kick club', ERROR_CODES.BAD_COMMAND],
    ['/join', ERROR_CODES.BAD_COMMAND],
    ['/join a b', ERROR_CODES.BAD_COMMAND],
    ['/members #', ERROR_CODES.BAD_COMMAND],
    [`#club/${'x'.repeat(251)}`, ERROR_CODES.MESSAGE_TOO_LONG],
  ] as const) {
    it(`refuses ${JSON.stringify(line.slice(0, 30))} with ${code}`, () => {
      assert.throws(() => parseTyped(line), hasCode(code));
    });
  }

  it('JSON: the room commands with their fields, and clear errors without them', () => {
    assert.deepEqual(parseJsonCommand('{"cmd":"room-create","name":"club"}'), { cmd: 'room-create', name: 'club' });
    assert.deepEqual(parseJsonCommand('{"cmd":"room-send","room":"club","text":"hi"}'), { cmd: 'room-send', room: 'club', text: 'hi' });
    assert.deepEqual(parseJsonCommand('{"cmd":"room-history","room":"club","count":3}'), { cmd: 'room-history', room: 'club', count: 3 });
    assert.throws(() => parseJsonCommand('{"cmd":"room-invite","room":"club"}'), hasCode(ERROR_CODES.BAD_COMMAND));
    assert.throws(() => parseJsonCommand('{"cmd":"room-kick","room":"club","name":7}'), hasCode(ERROR_CODES.BAD_COMMAND));
    assert.throws(() => parseJsonCommand('{"cmd":"room-history","room":"club","count":0}'), hasCode(ERROR_CODES.BAD_COMMAND));
    assert.throws(() => parseJsonCommand('{"cmd":"room-fly","room":"club"}'), hasCode(ERROR_CODES.UNKNOWN_COMMAND));
  });
});
