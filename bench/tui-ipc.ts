/**
 * What bench/tui and its processes share (bench/child.ts carries the calls):
 *
 *   bench/tui.ts (orchestrator: types keys, reads the screen, times both)
 *     ├── bench/tui-proc.ts ui <full|line> FRIENDS   a chat peer with a UI on pipes made to look like a terminal
 *     ├── bench/tui-proc.ts peer - FRIENDS           a chat peer that streams messages to the UI's
 *     └── bench/tui-proc.ts memory <full|line>       a UI fed 100,000 lines, measured after GC
 */

export type UiKind = 'full' | 'line';

/** The UI process: how many messages it has been told of, and the bytes it wrote. */
export type UiCalls = {
  counts: { request: Record<string, never>; reply: { messages: number; bytes: number } };
  quit: { request: Record<string, never>; reply: null };
};

/** The streaming peer: sends `rate` messages a second for `ms`, and says how many it sent. */
export type PeerCalls = {
  hello: { request: Record<string, never>; reply: null };
  stream: { request: { rate: number; ms: number }; reply: { sent: number } };
  quit: { request: Record<string, never>; reply: null };
};

/** The memory process: heap used by the UI after `lines` lines, with the baseline before them. */
export type MemoryCalls = {
  measure: { request: { lines: number; buffers: number }; reply: { before: number; after: number } };
};

/** Terminal size the UI process pretends to have. */
export const COLUMNS = 120;
export const ROWS = 40;
