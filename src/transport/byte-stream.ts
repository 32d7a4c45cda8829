/**
 * What natter reads frames from and writes them to: a TCP socket, any
 * Node.js Duplex (an in-memory pair, a relayed stream), or the encrypted
 * channel's SecureStream, which has this much of a stream and no more.
 * Events: 'data' (Buffer), 'end', 'error', 'close', 'drain'; listening for
 * 'data' starts the flow unless pause() was called, as with Node.js streams.
 */
export interface ByteStream {
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'end' | 'close' | 'drain', listener: () => void): unknown;
  once(event: 'data', listener: (chunk: Buffer) => void): unknown;
  once(event: 'error', listener: (err: Error) => void): unknown;
  once(event: 'end' | 'close' | 'drain', listener: () => void): unknown;
  off(event: 'data', listener: (chunk: Buffer) => void): unknown;
  off(event: 'error', listener: (err: Error) => void): unknown;
  off(event: 'end' | 'close' | 'drain', listener: () => void): unknown;
  /**
   * False: the data is taken, but wait for 'drain' before writing more.
   * `callback` is called once the data is written (or the stream failed).
   */
  write(data: Uint8Array, callback?: (err?: Error | null) => void): boolean;
  end(): unknown;
  destroy(err?: Error): unknown;
  pause(): unknown;
  resume(): unknown;
  readonly destroyed: boolean;
  /** Bytes written and not yet sent. */
  readonly writableLength: number;
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  readonly localAddress?: string | undefined;
  readonly localPort?: number | undefined;
}
