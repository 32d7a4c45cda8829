import { ERROR_CODES, NatterError } from '../errors.ts';

/** Frame header: u32 payload length, u8 type (protocol.md §2). */
export const HEADER_BYTES = 5;

/**
 * Limits enforced by the codec. Every one is finite; each is checked before
 * the bytes it guards are allocated (protocol.md §3).
 */
export interface ProtocolLimits {
  /** Largest whole frame, header included. */
  maxFrameBytes: number;
  /** Largest TEXT body, in UTF-8 bytes. */
  maxTextBytes: number;
  /** Longest display name, in UTF-8 bytes after NFC normalisation. */
  maxNameBytes: number;
  /** Most bytes the decoder holds at once (an unfinished frame plus the chunk being pushed). */
  maxBufferedBytes: number;
  /** Most separate chunks the decoder holds at once for one unfinished frame (a read header's are released). */
  maxBufferedParts: number;
}

export const DEFAULT_LIMITS: Readonly<ProtocolLimits> = Object.freeze({
  maxFrameBytes: 65_535,
  maxTextBytes: 4_096,
  maxNameBytes: 32,
  maxBufferedBytes: 1_048_576,
  maxBufferedParts: 8_192,
});

/**
 * Fills in defaults and validates the given limits, throwing
 * NATTER_ERR_INVALID_ARGUMENT for a value that is not a positive safe integer
 * or that could never be met (a frame too small for its own header).
 */
export function resolveLimits(partial?: Partial<ProtocolLimits>): ProtocolLimits {
  if (partial === undefined) return DEFAULT_LIMITS;
  // Servers pass the same options object for every connection: resolve it once.
  const known = RESOLVED.get(partial);
  if (known !== undefined) return known;
  const limits: ProtocolLimits = { ...DEFAULT_LIMITS, ...partial };
  for (const [key, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new NatterError(ERROR_CODES.INVALID_ARGUMENT, `limit ${key} must be a positive integer, got ${String(value)}`);
    }
  }
  if (limits.maxFrameBytes < HEADER_BYTES || limits.maxFrameBytes > 0xffff_ffff) {
    throw new NatterError(
      ERROR_CODES.INVALID_ARGUMENT,
      `limit maxFrameBytes must be between ${HEADER_BYTES} and ${0xffff_ffff}, got ${limits.maxFrameBytes}`,
    );
  }
  if (limits.maxNameBytes > 255) {
    throw new NatterError(ERROR_CODES.INVALID_ARGUMENT, `limit maxNameBytes must be at most 255, got ${limits.maxNameBytes}`);
  }
  if (limits.maxTextBytes > 0xffff) {
    throw new NatterError(ERROR_CODES.INVALID_ARGUMENT, `limit maxTextBytes must be at most 65535, got ${limits.maxTextBytes}`);
  }
  Object.freeze(limits);
  RESOLVED.set(partial, limits);
  return limits;
}

/** Resolved limits by the options object they came from. */
const RESOLVED = new WeakMap<object, ProtocolLimits>();
