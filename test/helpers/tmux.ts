/**
 * Real terminals for tests: a tmux server of the test's own (its socket in a
 * temporary directory, removed at exit), one session per program, typed into
 * with send-keys and read back with capture-pane.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN } from './cli.ts';
import { tempDir } from './tmp.ts';

export class Tmux {
  readonly socket = join(tempDir('tmux'), 'socket');

  #run(...args: string[]): string {
    return execFileSync('tmux', ['-S', this.socket, ...args], { encoding: 'utf8' });
  }

  /**
   * Starts `natter ARGS` in a new session named `name`, in a terminal of
   * `cols` × `rows`, with the given environment (XDG_CONFIG_HOME and so on).
   * The pane stays after the program exits, so a test can read what it left.
   */
  natter(name: string, args: string[], env: Record<string, string>, cols = 150, rows = 40): void {
    const vars = Object.entries({ NO_COLOR: '1', ...env }).map(([k, v]) => `${k}=${v}`);
    const command = ['env', '-u', 'NODE_V8_COVERAGE', ...vars, process.execPath, BIN, ...args].map(quote).join(' ');
    // Like a shell prompt after natter exits, a mark is printed where natter left the cursor.
    const shell = `${command}; printf '${EXIT_MARK}%s' "$?"; exec sleep 3600`;
    this.#run('new-session', '-d', '-s', name, '-x', String(cols), '-y', String(rows), shell);
  }

  /** natter's exit status once it has exited (the mark printed after it), else undefined. */
  exitStatus(name: string): number | undefined {
    const match = new RegExp(`${EXIT_MARK.replace(/[[\]]/g, '\\$&')}(\\d+)`).exec(this.screen(name));
    return match === null ? undefined : Number(match[1]);
  }

  /** Types `text` literally (no Enter). */
  type(name: string, text: string): void {
    this.#run('send-keys', '-t', name, '-l', text);
  }

  /** Presses keys by tmux name: Enter, C-c, Up, ... */
  press(name: string, ...keys: string[]): void {
    this.#run('send-keys', '-t', name, ...keys);
  }

  /** Types a line and presses Enter. */
  line(name: string, text: string): void {
    this.type(name, text);
    this.press(name, 'Enter');
  }

  /** The visible screen, one string per row (trailing blanks trimmed). */
  rows(name: string): string[] {
    return this.#run('capture-pane', '-p', '-t', name)
      .split('\n')
      .map((r) => r.trimEnd());
  }

  screen(name: string): string {
    return this.rows(name).join('\n');
  }

  /** Where the cursor is (0-based column and row). */
  cursor(name: string): { x: number; y: number } {
    const [x, y] = this.#run('display-message', '-p', '-t', name, '#{cursor_x} #{cursor_y}').trim().split(' ');
    return { x: Number(x), y: Number(y) };
  }

  /** A tmux format variable of the pane (alternate_on, cursor_flag, pane_title, pane_pid, ...). */
  format(name: string, variable: string): string {
    return this.#run('display-message', '-p', '-t', name, `#{${variable}}`).trim();
  }

  /** Pastes `text` as a terminal does: bracketed (ESC [200~ ... ESC [201~) when the program asked for that. */
  paste(name: string, text: string): void {
    this.#run('set-buffer', '-b', 'natter-test', text);
    this.#run('paste-buffer', '-p', '-d', '-b', 'natter-test', '-t', name);
  }

  /** From now on (with a session started), counts the bells each session rings (a hook on tmux's bell alert); bells(name) reads the count. */
  watchBells(): void {
    this.#run('set-hook', '-g', 'alert-bell', `run-shell "echo '#{session_name}' >> ${this.#bellFile}"`);
  }

  readonly #bellFile = join(tempDir('tmux-bells'), 'bells');

  /** Bells rung in session `name` since watchBells() (tmux may count a quick burst as one). */
  bells(name: string): number {
    try {
      return readFileSync(this.#bellFile, 'utf8')
        .split('\n')
        .filter((l) => l === name).length;
    } catch {
      return 0;
    }
  }

  resize(name: string, cols: number, rows: number): void {
    this.#run('resize-window', '-t', name, '-x', String(cols), '-y', String(rows));
  }

  /** Waits until `cond(screen)` holds; the error shows the screen. */
  async until(name: string, cond: (screen: string) => boolean, what: string, timeoutMs = 8_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = this.screen(name);
      if (cond(screen)) return screen;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; screen of ${name}:\n${screen}`);
      await new Promise((r) => setTimeout(r, 40));
    }
  }

  /** Stops the tmux server and every program in it. */
  kill(): void {
    try {
      this.#run('kill-server');
    } catch {
      // already gone
    }
  }
}

/** What the pane's shell prints after natter exits, followed by the exit status. */
export const EXIT_MARK = '[natter exited ';

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
