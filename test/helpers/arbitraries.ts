/** fast-check generators for every natter message, in the canonical form decoding yields. */
import fc from 'fast-check';
import { KEY_BYTES } from '../../src/protocol/codec.ts';
import { canonicalIp } from '../../src/protocol/fields.ts';
import type { Message } from '../../src/protocol/messages.ts';

const NAME_CHARS = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.', 'é', 'ë', 'ß', '中', '文', 'Ω', '😀'];

export const nameArb = fc
  .array(fc.constantFrom(...NAME_CHARS), { minLength: 1, maxLength: 32 })
  .map((chars) => chars.join(''))
  .filter((name) => Buffer.byteLength(name) <= 32);

export const ipArb = fc.oneof(fc.constant(''), fc.ipV4(), fc.ipV6()).map(canonicalIp);
const portArb = fc.integer({ min: 1, max: 65535 });
const u32Arb = fc.integer({ min: 0, max: 0xffff_ffff });
const textArb = (maxBytes: number) => fc.string({ unit: 'binary', maxLength: maxBytes }).filter((t) => Buffer.byteLength(t) <= maxBytes);
const bytesArb = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));
/** An Ed25519 public key as PEER carries it: exactly 32 raw bytes (protocol.md §3.6). */
export const keyArb = fc.uint8Array({ minLength: KEY_BYTES, maxLength: KEY_BYTES }).map((a) => Buffer.from(a));
const rec = <T extends Record<string, unknown>>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }) =>
  fc.record(model, { noNullPrototype: true });
/** A message id as TEXT and RCPT carry it: 16 bytes. */
const idArb = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((a) => Buffer.from(a));
const codeArb = fc.stringMatching(/^[A-Z0-9_]{1,64}$/);

export const messageArb: fc.Arbitrary<Message> = fc.oneof(
  rec({ type: fc.constant('HELLO' as const), version: fc.integer({ min: 0, max: 0xffff }) }),
  rec({ type: fc.constant('ERROR' as const), code: codeArb, reason: textArb(300) }),
  rec({ type: fc.constant('UP' as const), name: nameArb, ip: ipArb, port: fc.integer({ min: 0, max: 65535 }) }),
  rec({
    type: fc.constant('ACK' as const),
    port: portArb,
    aliveIntervalMs: u32Arb,
    seenIp: ipArb,
    seenPort: fc.integer({ min: 0, max: 65535 }),
  }),
  rec({ type: fc.constant('PROBE' as const), port: portArb }),
  rec({
    type: fc.constant('PROBED' as const),
    isReachable: fc.boolean(),
    isRelaying: fc.boolean(),
    seenIp: ipArb,
    seenPort: fc.integer({ min: 0, max: 65535 }),
    detail: textArb(300),
  }),
  rec({ type: fc.constant('PUNCH' as const), name: nameArb }),
  rec({ type: fc.constant('MEET' as const), name: nameArb, ip: ipArb, port: portArb }),
  rec({
    type: fc.constant('CALL' as const),
    via: fc.constant('punch' as const),
    name: nameArb,
    ip: ipArb.filter((ip) => ip !== ''),
    port: portArb,
  }),
  rec({ type: fc.constant('CALL' as const), via: fc.constant('relay' as const), name: nameArb, ip: fc.constant(''), port: fc.constant(0) }),
  rec({
    type: fc.constant('CALL' as const),
    via: fc.constant('relay' as const),
    name: nameArb,
    ip: ipArb.filter((ip) => ip !== ''),
    port: portArb,
  }),
  rec({ type: fc.constant('RELAY' as const), name: nameArb }),
  rec({ type: fc.constant('FIND' as const), name: nameArb }),
  rec({ type: fc.constant('JOINED' as const), isFirst: fc.boolean() }),
  rec({ type: fc.constant('NACK' as const), reason: textArb(300) }),
  fc.constant({ type: 'DOWN' as const }),
  fc.constant({ type: 'WHO' as const }),
  rec({ type: fc.constant('HDR' as const), count: u32Arb }),
  rec({ type: fc.constant('PEER' as const), name: nameArb, ip: ipArb, port: portArb, key: keyArb }),
  fc.constant({ type: 'ALIVE' as const }),
  fc.constant({ type: 'SHUTDOWN' as const }),
  fc.constant({ type: 'DUMP' as const }),
  rec({ type: fc.constant('STATE' as const), more: fc.boolean(), data: bytesArb(2000) }),
  rec({ type: fc.constant('CONN' as const), name: nameArb, ip: ipArb, port: portArb }),
  rec({ type: fc.constant('RESP' as const), accept: fc.boolean(), reason: textArb(60).filter((r) => Buffer.byteLength(r) <= 255) }),
  rec({ type: fc.constant('TEXT' as const), id: idArb, ts: fc.maxSafeNat(), text: textArb(4096) }),
  rec({ type: fc.constant('RCPT' as const), id: idArb }),
  rec({ type: fc.constant('RITEMS' as const), items: fc.array(bytesArb(300), { minLength: 1, maxLength: 20 }) }),
  rec({
    type: fc.constant('RHAVE' as const),
    room: idArb.map((b) => b.toString('hex')),
    isAsking: fc.boolean(),
    have: fc.array(rec({ key: keyArb, seq: u32Arb }), { maxLength: 40 }),
  }),
  fc.constant({ type: 'END' as const }),
  rec({ type: fc.constant('PING' as const), nonce: u32Arb }),
  rec({ type: fc.constant('PONG' as const), nonce: u32Arb }),
);
