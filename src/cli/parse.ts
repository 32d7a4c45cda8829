/** Parsers for command-line values; each throws a commander InvalidArgumentError with a clear message. */
import { isIP } from 'node:net';
import { InvalidArgumentError } from 'commander';

export interface HostPort {
  host: string;
  port: number;
}

export function parsePort(value: string, allowZero = true): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535 || (!allowZero && port === 0)) {
    throw new InvalidArgumentError(`expected a port number from ${allowZero ? 0 : 1} to 65535, got "${value}"`);
  }
  return port;
}

/** HOST:PORT, with IPv6 hosts in brackets ([::1]:7447). */
export function parseHostPort(value: string): HostPort {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(value);
  const host = match?.[1] ?? match?.[2];
  if (match === null || host === undefined) {
    throw new InvalidArgumentError(`expected HOST:PORT (for IPv6, [ADDRESS]:PORT), got "${value}"`);
  }
  return { host, port: parsePort(match[3] as string, false) };
}

/** IP:PORT, where the IP is an address (no host name): what another machine is told to dial. */
export function parseAdvertise(value: string): HostPort {
  const hostPort = parseHostPort(value);
  if (isIP(hostPort.host) === 0) throw new InvalidArgumentError(`expected an IP address and a port, got "${value}"`);
  return hostPort;
}

/** Longest duration an option takes: one day (Node's timers cannot wait beyond about 24.8 days anyway). */
export const MAX_SECONDS = 86_400;

/** A duration in seconds (fractions allowed), at most a day → milliseconds. */
export function parseSeconds(value: string): number {
  const seconds = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !(seconds > 0) || seconds > MAX_SECONDS) {
    throw new InvalidArgumentError(`expected a number of seconds above 0 and at most ${MAX_SECONDS} (a day), got "${value}"`);
  }
  return Math.max(1, Math.round(seconds * 1000));
}

export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || !Number.isSafeInteger(n)) {
    throw new InvalidArgumentError(`expected a positive whole number, got "${value}"`);
  }
  return n;
}

export function parsePositiveNumber(value: string): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !(n > 0)) {
    throw new InvalidArgumentError(`expected a positive number, got "${value}"`);
  }
  return n;
}

/** LO-HI, both ports, LO <= HI. */
export function parsePortRange(value: string): { lo: number; hi: number } {
  const match = /^(\d+)-(\d+)$/.exec(value);
  if (match === null) throw new InvalidArgumentError(`expected a port range LO-HI, got "${value}"`);
  const lo = parsePort(match[1] as string, false);
  const hi = parsePort(match[2] as string, false);
  if (lo > hi) throw new InvalidArgumentError(`port range ${value} is empty: LO is above HI`);
  return { lo, hi };
}

export function parseHost(value: string): string {
  if (isIP(value) === 0 && !/^[A-Za-z0-9.-]+$/.test(value)) {
    throw new InvalidArgumentError(`expected an IP address or host name, got "${value}"`);
  }
  return value;
}

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function parseLogLevel(value: string): LogLevel {
  if (!(LOG_LEVELS as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`expected one of ${LOG_LEVELS.join(', ')}, got "${value}"`);
  }
  return value as LogLevel;
}
