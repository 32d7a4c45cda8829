/** Test messages: a TEXT with a fixed id and time unless told otherwise, so an encoded one decodes to an equal object. */
import type { Message, TextMessage } from '../../src/protocol/messages.ts';

export const FIXED_ID = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');
export const FIXED_TS = 1_763_700_000_000;

export function textMsg(text: string, id: Uint8Array = FIXED_ID, ts = FIXED_TS): TextMessage {
  return { type: 'TEXT', id, ts, text };
}

/** The next message `conn` receives, as events.once() would give it. */
export function nextMessage(conn: { once(event: 'message', listener: (msg: Message) => void): unknown }): Promise<[Message]> {
  return new Promise((resolve) => conn.once('message', (msg) => resolve([msg])));
}
