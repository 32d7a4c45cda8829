/** Real loopback sockets for tests: a server on 127.0.0.1 port 0 that hands each accepted socket to a callback. */
import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Server, type ServerOpts, type Socket } from 'node:net';

export interface TestServer {
  server: Server;
  port: number;
  sockets: Set<Socket>;
  close(): Promise<void>;
}

export async function startServer(onSocket: (socket: Socket) => void, options: ServerOpts = {}): Promise<TestServer> {
  const sockets = new Set<Socket>();
  const server = createServer(options, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    onSocket(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    server,
    port,
    sockets,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A raw client socket, connected. */
export async function rawConnect(port: number): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  return socket;
}

/** Collects everything a socket receives until it closes. */
export function collect(socket: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  return new Promise((resolve) => socket.on('close', () => resolve(Buffer.concat(chunks))));
}
