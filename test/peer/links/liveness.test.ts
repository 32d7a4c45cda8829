/** Liveness of one connection, on a ManualScheduler: no test here waits on the wall clock. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualScheduler } from '../../../src/clock.ts';
import { Liveness, type LivenessOptions } from '../../../src/peer/links/liveness.ts';

function watch(options: Partial<LivenessOptions> = {}) {
  const scheduler = new ManualScheduler(1_000);
  const seen = { pings: [] as number[], dead: [] as number[], idle: 0 };
  const liveness = new Liveness({
    keepaliveIntervalMs: 100,
    idleTimeoutMs: 1_000,
    isOutbound: true,
    scheduler,
    ping: (nonce) => seen.pings.push(nonce),
    onDead: (silence) => seen.dead.push(silence),
    onIdle: () => seen.idle++,
    ...options,
  });
  return { scheduler, liveness, seen };
}

describe('Liveness', () => {
  it('pings once per interval while the other side answers, and never calls it dead', () => {
    const { scheduler, liveness, seen } = watch({ idleTimeoutMs: 86_400_000 });
    for (let t = 0; t < 1_000; t += 10) {
      scheduler.advance(10);
      if (seen.pings.length > 0 && t % 100 === 0) liveness.heard(); // the PONGs
    }
    assert.equal(seen.pings.length, 10, 'one PING per 100 ms');
    assert.deepEqual(seen.pings, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 'numbered');
    assert.deepEqual(seen.dead, []);
    liveness.stop();
  });

  it('calls a silent side dead once it has been silent for 2.5 intervals, within three', () => {
    const { scheduler, seen } = watch({ idleTimeoutMs: 86_400_000 });
    scheduler.advance(250);
    assert.deepEqual(seen.dead, [], 'not at 2.5 intervals exactly');
    scheduler.advance(50);
    assert.deepEqual(seen.dead, [300], 'at the next check: three intervals');
    scheduler.advance(1_000);
    assert.deepEqual(seen.dead, [300], 'once');
    assert.equal(scheduler.pending, 0, 'no timer left');
  });

  it('closes an idle connection after the idle timeout; traffic moves the deadline', () => {
    const { scheduler, liveness, seen } = watch({ keepaliveIntervalMs: 86_400_000 });
    scheduler.advance(600);
    liveness.traffic();
    scheduler.advance(600);
    assert.equal(seen.idle, 0, 'traffic at 600 ms moved the deadline to 1,600 ms');
    scheduler.advance(400);
    assert.equal(seen.idle, 1);
    liveness.traffic();
    scheduler.advance(5_000);
    assert.equal(seen.idle, 1, 'stopped after the idle close');
  });

  it("the side that accepted waits 10% longer, and knows a close near the deadline for the other side's idle close", () => {
    const { scheduler, liveness, seen } = watch({ keepaliveIntervalMs: 86_400_000, isOutbound: false });
    scheduler.advance(850);
    assert.equal(liveness.isPeerIdleClose(), false, "too early for the dialer's idle close");
    scheduler.advance(150);
    assert.equal(liveness.isPeerIdleClose(), true, "at the dialer's deadline");
    assert.equal(seen.idle, 0);
    scheduler.advance(100);
    assert.equal(seen.idle, 1, 'at 1.1 × the timeout');
    const dialer = watch({ keepaliveIntervalMs: 86_400_000 });
    dialer.scheduler.advance(999);
    assert.equal(dialer.liveness.isPeerIdleClose(), false, "a close seen by the dialer is never the other side's idle close");
  });

  it('stop() clears both timers', () => {
    const { scheduler, liveness, seen } = watch();
    liveness.stop();
    assert.equal(scheduler.pending, 0);
    scheduler.advance(10_000);
    assert.deepEqual([seen.pings, seen.dead, seen.idle], [[], [], 0]);
  });
});

describe('ManualScheduler', () => {
  it('runs due timers in order of their time, then of their setting, including those set on the way', () => {
    const s = new ManualScheduler();
    const ran: string[] = [];
    s.setTimeout(() => ran.push('b@20'), 20);
    s.setTimeout(() => {
      ran.push('a@10');
      s.setTimeout(() => ran.push('c@15'), 5);
    }, 10);
    s.setTimeout(() => ran.push('d@20'), 20);
    const gone = s.setTimeout(() => ran.push('never'), 15);
    s.clearTimeout(gone);
    s.advance(19);
    assert.deepEqual(ran, ['a@10', 'c@15']);
    assert.equal(s.now(), 19);
    s.advance(1);
    assert.deepEqual(ran, ['a@10', 'c@15', 'b@20', 'd@20']);
    assert.equal(s.pending, 0);
  });
});
