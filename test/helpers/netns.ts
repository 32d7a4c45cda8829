/**
 * Real network separation for tests: Linux network namespaces joined by veth
 * pairs and bridges, with nftables for NAT and firewalls (Debian's iproute2
 * and nftables; root is needed). Addresses come from the documentation
 * ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24). Every namespace a
 * Lab makes is deleted by destroy() and, failing that, when the test process
 * exits.
 *
 * A test asks Lab.unavailable() first and skips with its reason when the
 * machine cannot do this.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

const made = new Set<string>();
process.on('exit', () => {
  for (const ns of made) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
});

function run(cmd: string, args: string[], input?: string): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], ...(input === undefined ? {} : { input }) });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.stderr ?? e.message}`);
  }
}

export interface NatOptions {
  /** The router's interface to the outside. */
  wan: string;
  /** The router's interface to its LAN. */
  lan: string;
  /** Map each connection to a random port (nftables `masquerade random-fully`) instead of keeping the source port when it can. */
  isRandomPorts?: boolean;
}

export class Lab {
  /** Short, unique per lab: namespace names carry it, so parallel test files never meet. */
  readonly id = randomBytes(3).toString('hex');
  readonly #namespaces: string[] = [];
  #veths = 0;

  /** Why this machine cannot run namespace tests (undefined when it can). */
  static unavailable(): string | undefined {
    if (process.getuid?.() !== 0) return 'network namespace tests need root';
    for (const [cmd, args] of [
      ['ip', ['-V']],
      ['nft', ['--version']],
    ] as const) {
      if (spawnSync(cmd, [...args], { stdio: 'ignore' }).status !== 0)
        return `network namespace tests need ${cmd} (Debian's ${cmd === 'ip' ? 'iproute2' : 'nftables'})`;
    }
    const probe = `natter-probe-${process.pid}`;
    if (spawnSync('ip', ['netns', 'add', probe], { stdio: 'ignore' }).status !== 0) return 'cannot create network namespaces here';
    spawnSync('ip', ['netns', 'del', probe], { stdio: 'ignore' });
    return undefined;
  }

  /** A new namespace with its loopback up; returns its full name (for `ip netns exec`). */
  namespace(name: string): string {
    const ns = `nt-${this.id}-${name}`;
    run('ip', ['netns', 'add', ns]);
    made.add(ns);
    this.#namespaces.push(ns);
    run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /** Runs `ip ARGS` inside `ns`. */
  ip(ns: string, ...args: string[]): string {
    return run('ip', ['-n', ns, ...args]);
  }

  /** Runs a command inside `ns` and returns its output. */
  exec(ns: string, cmd: string, ...args: string[]): string {
    return run('ip', ['netns', 'exec', ns, cmd, ...args]);
  }

  /** The argv prefix that runs a program inside `ns` (for spawn). */
  wrap(ns: string, argv: string[]): string[] {
    return ['ip', 'netns', 'exec', ns, ...argv];
  }

  /**
   * A veth pair between two namespaces, each end up and addressed
   * (`address` like "192.0.2.1/24", or undefined for an end that joins a
   * bridge). Returns the interface names.
   */
  wire(a: { ns: string; address?: string }, b: { ns: string; address?: string }): [string, string] {
    const n = this.#veths++;
    const [ia, ib] = [`v${n}a`, `v${n}b`];
    run('ip', ['link', 'add', ia, 'netns', a.ns, 'type', 'veth', 'peer', 'name', ib, 'netns', b.ns]);
    for (const [end, ifname] of [
      [a, ia],
      [b, ib],
    ] as const) {
      if (end.address !== undefined) this.ip(end.ns, 'addr', 'add', end.address, 'dev', ifname);
      this.ip(end.ns, 'link', 'set', ifname, 'up');
    }
    return [ia, ib];
  }

  /** A bridge in `ns` (a switch), optionally with an address of its own; returns its name. */
  bridge(ns: string, address?: string): string {
    const name = `br${this.#veths++}`;
    this.ip(ns, 'link', 'add', name, 'type', 'bridge');
    if (address !== undefined) this.ip(ns, 'addr', 'add', address, 'dev', name);
    this.ip(ns, 'link', 'set', name, 'up');
    return name;
  }

  /** Puts interface `ifname` of `ns` into `bridge`. */
  enslave(ns: string, ifname: string, bridge: string): void {
    this.ip(ns, 'link', 'set', ifname, 'master', bridge);
  }

  /** The default route of `ns`. */
  route(ns: string, via: string): void {
    this.ip(ns, 'route', 'add', 'default', 'via', via);
  }

  /**
   * Makes `ns` a home router: forwarding on, masquerade out of `wan`, and the
   * usual rules: connections from the LAN go out, replies come back, and
   * anything unsolicited from outside is dropped (to the router too).
   */
  nat(ns: string, o: NatOptions): void {
    this.exec(ns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
    run(
      'ip',
      ['netns', 'exec', ns, 'nft', '-f', '-'],
      `table ip nat {
  chain postrouting_nat {
    type nat hook postrouting priority 100;
    oifname "${o.wan}" masquerade${o.isRandomPorts === true ? ' random,fully-random' : ''}
  }
}
table ip filter {
  chain input_filter {
    type filter hook input priority 0; policy accept;
    iifname "${o.wan}" ct state new drop
  }
  chain forward_filter {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    iifname "${o.lan}" accept
  }
}
`,
    );
  }

  /**
   * Opens a port on a router made by nat(): connections from outside to its
   * `wan` address at `port` go to `to` (the same port), as a user does to be
   * reachable from the internet.
   */
  forwardPort(ns: string, o: { wan: string; port: number; to: string }): void {
    run(
      'ip',
      ['netns', 'exec', ns, 'nft', '-f', '-'],
      `table ip nat {
  chain prerouting_nat {
    type nat hook prerouting priority -100;
    iifname "${o.wan}" tcp dport ${o.port} dnat to ${o.to}
  }
}
table ip filter {
  chain forward_filter {
    ct status dnat accept
  }
}
`,
    );
  }

  /** Deletes every namespace this lab made (their interfaces go with them). */
  destroy(): void {
    for (const ns of this.#namespaces.splice(0)) {
      spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      made.delete(ns);
    }
  }
}

/**
 * The internet in small: a "public" namespace with a switch on
 * 203.0.113.0/24 (the directory's side), and two homes, each a host behind
 * its own NAT router: home A on 192.0.2.0/24, home B on 198.51.100.0/24.
 * The hosts reach the public side but not each other.
 */
export function twoHomes(lab: Lab, options: { isRandomPorts?: boolean } = {}) {
  const pub = lab.namespace('pub');
  const sw = lab.bridge(pub, '203.0.113.10/24');
  const homes = (['a', 'b'] as const).map((h, i) => {
    const router = lab.namespace(`r${h}`);
    const host = lab.namespace(`h${h}`);
    const wanIp = `203.0.113.${i + 2}`;
    const [wan, port] = lab.wire({ ns: router, address: `${wanIp}/24` }, { ns: pub });
    lab.enslave(pub, port, sw);
    const lanNet = i === 0 ? '192.0.2' : '198.51.100';
    const [lan] = lab.wire({ ns: router, address: `${lanNet}.1/24` }, { ns: host, address: `${lanNet}.2/24` });
    lab.route(host, `${lanNet}.1`);
    lab.nat(router, { wan, lan, ...(options.isRandomPorts === undefined ? {} : { isRandomPorts: options.isRandomPorts }) });
    return { router, host, wan, publicIp: wanIp, hostIp: `${lanNet}.2` };
  });
  return { pub, bridge: sw, publicIp: '203.0.113.10', a: homes[0] as (typeof homes)[0], b: homes[1] as (typeof homes)[0] };
}
