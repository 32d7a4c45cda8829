/**
 * A full room on one machine: 32 `natter chat --json` processes (the most
 * `--max-room-members` allows) on a friends table on 127.0.0.1, every member
 * writing at once. Each ends with every message exactly once and with the
 * same room history, in which each author's messages keep their order.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ChatProc, type Event } from '../helpers/chat-proc.ts';
import { cast } from '../helpers/room-cast.ts';

const MEMBERS = 32;
const EACH = 3;

const procs: ChatProc[] = [];
after(async () => {
  const left = procs.splice(0);
  for (const p of left) p.kill('SIGKILL');
  await Promise.all(left.map((p) => p.exit()));
});

async function until(cond: () => boolean, what: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function last(p: ChatProc, type: string, room: string): Event | undefined {
  return p.allEvents().findLast((e) => e.type === type && e.room === room);
}

describe('natter chat --json: a room of 32', () => {
  it("32 processes write at once: each shows every other member's messages once, and all agree on the history", async () => {
    const started = Date.now();
    const names = Array.from({ length: MEMBERS }, (_, i) => `m${String(i).padStart(2, '0')}`);
    const c = await cast(names);
    const all = names.map((name) => {
      const p = new ChatProc(['--name', name, '--friends', c.table, '--retry', '0.2'], { XDG_CONFIG_HOME: c.homes.get(name) as string });
      procs.push(p);
      return p;
    });
    // 32 processes starting at once on a small machine: give them time, but not forever.
    await Promise.all(all.map((p) => p.next('ready', undefined, 40_000)));
    const [host, ...others] = all as [ChatProc, ...ChatProc[]];

    host.send({ cmd: 'room-create', name: 'crowd' });
    const room = (await host.next('room-joined')).room as string;
    for (const n of names.slice(1)) host.send({ cmd: 'room-invite', room, to: n });
    await Promise.all(
      others.map(async (p) => {
        const invite = await p.next('room-invite', (e) => e.room === room, 30_000);
        assert.equal(invite.from, names[0]);
        p.send({ cmd: 'room-join', room });
        await p.next('room-joined', (e) => e.room === room, 30_000);
      }),
    );
    // Everyone knows everyone before anyone writes, so the test is of fan-out, not of catch-up.
    const full = (p: ChatProc): boolean => (last(p, 'room-members', room)?.members as string[] | undefined)?.length === MEMBERS;
    const asked = new Set<ChatProc>();
    await until(
      () => {
        for (const p of all) {
          if (full(p) || asked.has(p)) continue;
          // A member that joined last has seen no change since: ask it, once a second at most.
          asked.add(p);
          p.send({ cmd: 'room-members', room });
          setTimeout(() => asked.delete(p), 1_000).unref();
        }
        return all.every(full);
      },
      () => `members seen: ${all.map((p) => (last(p, 'room-members', room)?.members as string[] | undefined)?.length ?? 0).join(' ')}`,
      30_000,
    );
    const formed = Date.now();

    // Every member writes EACH messages at once.
    for (let i = 0; i < EACH; i++) for (const [j, p] of all.entries()) p.send({ cmd: 'room-send', room, text: `${names[j]}:${i}` });
    const ids = await Promise.all(
      all.map(async (p) => {
        const mine: string[] = [];
        for (let i = 0; i < EACH; i++) mine.push((await p.next('queued', (e) => e.room === room, 20_000)).id as string);
        return mine;
      }),
    );
    const everyId = ids.flat();
    assert.equal(new Set(everyId).size, MEMBERS * EACH);
    const shown = (p: ChatProc): Event[] => p.allEvents().filter((e) => e.type === 'room-message' && e.room === room);
    const want = (MEMBERS - 1) * EACH;
    await until(
      () => all.every((p) => new Set(shown(p).map((e) => e.id)).size === want),
      () => `messages shown: ${all.map((p) => shown(p).length).join(' ')} of ${want}`,
      45_000,
    );
    const delivered = Date.now();

    const orders: string[][] = [];
    for (const [j, p] of all.entries()) {
      const got = shown(p);
      assert.equal(got.length, want, `${names[j]} shows each message once`);
      assert.deepEqual(new Set(got.map((e) => e.id)), new Set(everyId.filter((id) => !(ids[j] as string[]).includes(id))));
      p.send({ cmd: 'room-history', room, count: 1000 });
      const entries = (await p.next('room-history', (e) => e.room === room, 10_000)).entries as Event[];
      assert.equal(entries.length, MEMBERS * EACH);
      for (const author of names) {
        const texts = entries.filter((e) => e.from === author).map((e) => e.text);
        assert.deepEqual(
          texts,
          Array.from({ length: EACH }, (_, i) => `${author}:${i}`),
          `${author}'s messages in the order written, at ${names[j]}`,
        );
      }
      orders.push(entries.map((e) => e.id as string));
    }
    for (const o of orders) assert.deepEqual(o, orders[0], 'one history order at every member');
    // Members all connect to each other at once when the room forms, each dialing while the
    // others dial it: none is turned away, and no member is shown an error it did not cause.
    assert.deepEqual(
      all.flatMap((p) => p.allEvents().filter((e) => e.type === 'error')),
      [],
    );
    console.log(
      `# 32 processes: room formed in ${formed - started} ms, ${MEMBERS * EACH} messages everywhere ${delivered - formed} ms later`,
    );
  });
});
