/** Free TCP ports on 127.0.0.1, for tests that must name a port up front (a friends table, a rendezvous). */
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';

export async function freePorts(count: number): Promise<number[]> {
  const servers = [];
  for (let i = 0; i < count; i++) {
    const s = createServer();
    s.listen(0, '127.0.0.1');
    await once(s, 'listening');
    servers.push(s);
  }
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  for (const s of servers) s.close();
  return ports;
}
