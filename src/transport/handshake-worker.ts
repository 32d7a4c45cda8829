/**
 * One thread of a HandshakePool: runs the accepting side's IdentityHandshake
 * for the connections the main thread hands it, by id. Handshakes do no I/O,
 * only cryptography, so they can run here while the main thread reads and
 * writes sockets.
 *
 *   main ── { id, message } ──▶ worker   (the first message of an id starts its handshake)
 *   main ◀── { id, reply?, result?, error? } ── worker
 *   main ── { id, drop: true } ──▶ worker   (given up: forget it)
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isNatterError } from '../errors.ts';
import { IdentityHandshake, type KeyPair } from './handshake.ts';

export interface HandshakeJob {
  id: number;
  message?: Uint8Array;
  drop?: true;
}

export interface HandshakeAnswer {
  id: number;
  reply?: Uint8Array;
  result?: { tx: Uint8Array; rx: Uint8Array; hash: Uint8Array; remotePublicKey: Uint8Array };
  error?: { code: string; message: string };
}

const port = parentPort;
if (port === null) throw new Error('handshake-worker.ts runs as a worker thread');
const { publicKey, secretKey } = workerData as { publicKey: Uint8Array; secretKey: Uint8Array };
const keyPair: KeyPair = { publicKey: Buffer.from(publicKey), secretKey: Buffer.from(secretKey) };
const running = new Map<number, IdentityHandshake>();

port.on('message', (job: HandshakeJob) => {
  if (job.drop === true) {
    running.delete(job.id);
    return;
  }
  let handshake = running.get(job.id);
  if (handshake === undefined) {
    handshake = new IdentityHandshake(false, keyPair);
    running.set(job.id, handshake);
  }
  const answer: HandshakeAnswer = { id: job.id };
  try {
    const reply = handshake.receive(job.message as Uint8Array);
    if (reply !== undefined) answer.reply = reply;
    const result = handshake.result;
    if (result !== undefined) {
      running.delete(job.id);
      answer.result = { tx: result.tx, rx: result.rx, hash: result.hash, remotePublicKey: result.remotePublicKey };
    }
  } catch (err) {
    running.delete(job.id);
    answer.error = isNatterError(err)
      ? { code: err.code, message: err.message }
      : { code: 'NATTER_ERR_HANDSHAKE_FAILED', message: String(err) };
  }
  port.postMessage(answer);
});
