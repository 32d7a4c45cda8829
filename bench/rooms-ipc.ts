/** The calls bench/rooms makes to its processes (bench/rooms-proc.ts). */

/** A peer as the others' friends tables would list it. */
export interface Who {
  name: string;
  port: number;
  key: Buffer;
}

export interface Timed {
  seconds: number;
  /** The author's CPU time over the run, user and system, µs. */
  cpuMicros: number;
}

export type RoomsCalls = {
  /** Starts `count` PeerNodes (the author: one), knowing the peers given; answers who they are. */
  start: { request: { count: number; known: Who[] }; reply: Who[] };
  /** Learns more peers. */
  meet: { request: { known: Who[] }; reply: null };
  /** The author makes a room of the members named, and waits until they all joined; answers its id. */
  room: { request: { members: string[] }; reply: string };
  /** The author sends `count` room messages; answers once every one of `members` members holds every one. */
  fanout: { request: { room: string; count: number; members: number }; reply: Timed };
  /** The author sends `count` messages to each of `names`, one to one; answers once each is acknowledged. */
  direct: { request: { count: number; names: string[] }; reply: Timed };
  /** One message at a time: to the room, then to each member one to one; ms until all acknowledged, each sample. */
  latency: {
    request: { room: string; samples: number; members: number; names: string[] };
    reply: { roomMs: number[]; directMs: number[] };
  };
  /** What the members process received. */
  received: { request: null; reply: { received: number; roomReceived: number } };
  /** The members process answers once no chat has opened for `quietMs`: how many opened. */
  settled: { request: { quietMs: number }; reply: number };
  stop: { request: null; reply: null };
};
