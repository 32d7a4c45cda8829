/** Peers for room tests: a friends table with keys, and each peer's identity file in a home of its own. */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { keyPairFromSeed } from '../../src/transport/secure.ts';
import { freshHome } from './cli.ts';
import { freePorts } from './ports.ts';
import { tempDir } from './tmp.ts';

export interface Cast {
  table: string;
  homes: Map<string, string>;
}

/** A friends table with keys, and each friend's identity file in a home of its own. */
export async function cast(names: string[]): Promise<Cast> {
  const ports = await freePorts(names.length);
  const homes = new Map<string, string>();
  const friends = names.map((name, i) => {
    const seed = randomBytes(32);
    const { publicKey } = keyPairFromSeed(seed);
    const home = freshHome();
    mkdirSync(join(home, 'natter'), { recursive: true });
    writeFileSync(
      join(home, 'natter', 'identity.json'),
      JSON.stringify({ version: 1, type: 'ed25519', publicKey: publicKey.toString('hex'), seed: seed.toString('hex') }),
      { mode: 0o600 },
    );
    homes.set(name, home);
    return { name, ip: '127.0.0.1', port: ports[i], key: publicKey.toString('hex') };
  });
  const table = join(tempDir('rooms'), 'friends.json');
  writeFileSync(table, JSON.stringify({ friends }));
  return { table, homes };
}
