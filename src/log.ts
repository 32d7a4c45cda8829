/**
 * The logging interface the library writes to: structured fields first, then
 * a message (the shape pino uses, so the CLI passes a pino logger straight in).
 * The library never prints; without a logger it is silent.
 */
export interface Logger {
  debug(fields: object, msg: string): void;
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
}

const noop = (): void => {};

export const SILENT_LOGGER: Logger = { debug: noop, info: noop, warn: noop, error: noop };
