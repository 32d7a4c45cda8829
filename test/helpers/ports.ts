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

/**
 * A port range for a test directory whose assigned ports peers then listen
 * on: below Linux's ephemeral range (32768-60999), where the default range
 * (50000-59999) lies, so that no outgoing connection on the machine (or its
 * TIME_WAIT) holds a port a test peer is told to listen on.
 */
export const TEST_PORT_RANGE = Object.freeze({ lo: 20_000, hi: 29_999 });
