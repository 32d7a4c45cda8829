import { Child } from './child.ts';
import type { RoomsCalls } from './rooms-ipc.ts';
const n = 16;
const mode = process.argv[2];
const author = new Child<RoomsCalls>('room author', './rooms-proc.ts', ['author'], ['--cpu-prof', '--cpu-prof-dir=/tmp/prof', '--cpu-prof-name=author.cpuprofile']);
const members = new Child<RoomsCalls>(`${n} room members`, './rooms-proc.ts', ['members'], ['--cpu-prof', '--cpu-prof-dir=/tmp/prof', '--cpu-prof-name=members.cpuprofile']);
await Promise.all([author.ready(), members.ready()]);
const [a] = await author.call('start', { count: 1, known: [] }, 10_000);
const ms = await members.call('start', { count: n, known: [a!] }, 30_000);
await author.call('meet', { known: ms }, 5_000);
const names = ms.map((m) => m.name);
const room = await author.call('room', { members: names }, 60_000);
for (let i = 0; i < 3; i++) {
  if (mode !== 'direct') console.log('room', await author.call('fanout', { room, count: 2000, members: n }, 60_000));
  if (mode !== 'room') console.log('direct', await author.call('direct', { count: 2000, names }, 60_000));
}
await author.call('stop', null, 10_000).catch(() => {});
await members.call('stop', null, 10_000).catch(() => {});
process.kill(process.pid, 'SIGTERM');
