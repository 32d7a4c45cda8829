/**
 * A terminal emulator model for tests: xterm.js without a screen
 * (@xterm/headless), with Unicode 11 widths (emoji take two cells, as
 * string-width says). Bytes a UI writes go in; the grid, the cursor and
 * the modes come out.
 */
import headless from '@xterm/headless';
import unicode11 from '@xterm/addon-unicode11';

export type HeadlessTerminal = InstanceType<typeof headless.Terminal>;

export function emulator(cols: number, rows: number): HeadlessTerminal {
  const term = new headless.Terminal({ cols, rows, allowProposedApi: true, scrollback: 0 });
  term.loadAddon(new unicode11.Unicode11Addon());
  term.unicode.activeVersion = '11';
  return term;
}

/** Writes `data` and waits until the emulator has parsed it. */
export function feed(term: HeadlessTerminal, data: string): Promise<void> {
  return new Promise((resolve) => term.write(data, resolve));
}

/** The visible screen, one string per row, trailing blanks trimmed. */
export function screenOf(term: HeadlessTerminal): string[] {
  const buffer = term.buffer.active;
  const rows: string[] = [];
  for (let y = 0; y < term.rows; y++) rows.push((buffer.getLine(buffer.viewportY + y)?.translateToString(true) ?? '').trimEnd());
  return rows;
}
