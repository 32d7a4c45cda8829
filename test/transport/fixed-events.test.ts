/** FixedEvents: the part of EventEmitter's behaviour natter relies on, with listeners in fixed fields. */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { FixedEvents } from '../../src/transport/fixed-events.ts';

type Events = { data: [string]; close: [] };

class Thing extends FixedEvents<Events> {
  constructor() {
    super({ data: undefined, close: undefined });
  }
}

describe('FixedEvents', () => {
  it('calls listeners in the order added, one or many, and counts them', () => {
    const t = new Thing();
    const got: string[] = [];
    assert.equal(t.emit('data', 'nobody'), false);
    const a = (s: string): void => void got.push(`a:${s}`);
    const b = (s: string): void => void got.push(`b:${s}`);
    t.on('data', a);
    assert.equal(t.emit('data', '1'), true);
    t.addListener('data', b);
    t.emit('data', '2');
    assert.equal(t.listenerCount('data'), 2);
    t.off('data', a);
    t.emit('data', '3');
    t.removeListener('data', b);
    t.emit('data', '4');
    assert.deepEqual(got, ['a:1', 'a:2', 'b:2', 'b:3']);
    assert.equal(t.listenerCount('data'), 0);
  });

  it('once: called one time, and removable by the listener it was given', () => {
    const t = new Thing();
    let n = 0;
    const l = (): void => void n++;
    t.once('close', l);
    t.emit('close');
    t.emit('close');
    t.once('close', l);
    t.off('close', l);
    t.emit('close');
    assert.equal(n, 1);
  });

  it('a listener that removes another while they are called does not disturb this emit', () => {
    const t = new Thing();
    const got: string[] = [];
    const second = (): void => void got.push('second');
    t.on('close', () => {
      got.push('first');
      t.off('close', second);
    });
    t.on('close', second);
    t.emit('close');
    t.emit('close');
    assert.deepEqual(got, ['first', 'second', 'first']);
  });

  it("works with Node's events.once()", async () => {
    const t = new Thing();
    const got = once(t as never, 'data');
    t.emit('data', 'hi');
    assert.deepEqual(await got, ['hi']);
    assert.equal(t.listenerCount('data'), 0);
  });
});
