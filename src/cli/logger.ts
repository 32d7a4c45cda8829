/** Structured logs (JSON lines, pino) to stderr: stdout stays for what the command is asked to print. */
import { pino } from 'pino';
import type { Logger } from '../log.ts';
import type { LogLevel } from './parse.ts';

export function stderrLogger(level: LogLevel, name: string): Logger {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: true }));
}
