/**
 * A Node.js Duplex in front of another byte stream (a streamx one, or any
 * that is not a Node.js stream): for running the encrypted
 * channel over a relayed stream, with Node's stream semantics. In
 * particular, a paused Node stream stays paused when someone starts
 * listening for 'data'; a streamx one starts flowing, and whatever it emits
 * before every listener is in place is lost to the later ones.
 */
import { Duplex } from 'node:stream';
import type { ByteStream } from './byte-stream.ts';

/**
 * `inner` itself when it is a Node.js Duplex already, else a Node.js Duplex
 * that reads from and writes to it, cutting writes to at most `maxWrite`
 * bytes (an encrypted channel inside another seals each write of the outer
 * one as one record, and records have a size limit).
 */
export function asNodeDuplex(inner: ByteStream, maxWrite = Infinity): Duplex {
  if (inner instanceof Duplex) return inner;
  const outer = new Duplex({
    read() {
      inner.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      let ok = true;
      for (let at = 0; at < chunk.length; at += maxWrite)
        ok = inner.write(chunk.length <= maxWrite ? chunk : chunk.subarray(at, at + maxWrite));
      if (ok) callback();
      else inner.once('drain', () => callback());
    },
    final(callback) {
      inner.end();
      callback();
    },
    destroy(err, callback) {
      if (!inner.destroyed) inner.destroy(err ?? undefined);
      callback(err);
    },
  });
  inner.pause();
  inner.on('data', (chunk: Buffer) => {
    if (!outer.push(chunk)) inner.pause();
  });
  inner.on('end', () => outer.push(null));
  inner.on('error', (err: Error) => outer.destroy(err));
  inner.on('close', () => {
    if (!outer.destroyed) outer.destroy();
  });
  return outer;
}
