import assert from 'node:assert/strict';
import { it } from 'node:test';
import { FriendsTable } from '../../src/discovery/friends-table.ts';
import { NatterError } from '../../src/errors.ts';

it('parses the documented format and a bare array', async () => {
  const t = FriendsTable.parse({ friends: [{ name: 'zoe\u0308', ip: '::ffff:127.0.0.1', port: 5 }] });
  assert.deepEqual(await t.list(), [{ name: 'zoë', ip: '127.0.0.1', port: 5 }]);
  assert.ok(t.isFriend('zoë'));
  assert.equal(await t.lookup('nobody'), undefined);
  assert.equal(FriendsTable.parse([{ name: 'a', ip: '10.0.0.1', port: 1 }]).friends.length, 1);
});

it('refuses every kind of broken entry with a message naming it', () => {
  const cases: [unknown, RegExp][] = [
    [{}, /at least one entry/],
    [{ friends: [] }, /at least one entry/],
    [{ friends: [7] }, /entry 1 is not an object/],
    [{ friends: [{ ip: '1.2.3.4', port: 1 }] }, /"name" must be a string/],
    [{ friends: [{ name: 'a b', ip: '1.2.3.4', port: 1 }] }, /entry 1: display name/],
    [{ friends: [{ name: 'a', ip: 'localhost', port: 1 }] }, /"ip" must be an IP address/],
    [{ friends: [{ name: 'a', ip: '1.2.3.4', port: 70000 }] }, /"port" must be a number/],
    [
      {
        friends: [
          { name: 'a', ip: '1.2.3.4', port: 1 },
          { name: 'a', ip: '1.2.3.5', port: 2 },
        ],
      },
      /listed twice/,
    ],
  ];
  for (const [data, message] of cases) {
    assert.throws(
      () => FriendsTable.parse(data, 'f.json'),
      (e) => e instanceof NatterError && e.code === 'NATTER_ERR_INVALID_ARGUMENT' && message.test(e.message),
      JSON.stringify(data),
    );
  }
});

it('refuses a file that is not JSON', () => {
  assert.throws(() => FriendsTable.load(new URL('../../README.md', import.meta.url).pathname), /not valid JSON/);
});
