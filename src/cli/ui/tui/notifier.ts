/**
 * When the full-screen UI calls for attention, and how: a message (or a
 * chat request) in a buffer that is not shown, or anywhere while the
 * terminal does not have focus (it reports focus once asked with CSI
 * ?1004h), rings the bell and, where the terminal is known to show them,
 * sends a desktop notification: OSC 777 (foot, WezTerm, Ghostty, VTE) or
 * OSC 9 (iTerm2, Windows Terminal, kitty). Nothing rings for the shown
 * buffer of a focused terminal, for a muted name, or with --no-notify.
 */
import { sanitize } from '../sanitize.ts';

export type NotificationKind = 'osc777' | 'osc9' | 'none';

/** Which desktop notification the terminal shows, from what it says of itself. */
export function notificationKind(env: NodeJS.ProcessEnv): NotificationKind {
  const program = env.TERM_PROGRAM ?? '';
  const term = env.TERM ?? '';
  if (env.TMUX !== undefined || term.startsWith('screen') || term.startsWith('tmux')) return 'none';
  if (program === 'iTerm.app' || env.WT_SESSION !== undefined || term === 'xterm-kitty') return 'osc9';
  if (program === 'WezTerm' || program === 'ghostty' || term.startsWith('foot') || env.VTE_VERSION !== undefined) return 'osc777';
  return 'none';
}

/** The longest notification text sent to the terminal. */
const MAX_NOTIFICATION_CHARS = 200;

export class Notifier {
  readonly #isOn: boolean;
  readonly #kind: NotificationKind;
  readonly #muted = new Set<string>();
  #isFocused = true;

  constructor(isOn: boolean, kind: NotificationKind) {
    this.#isOn = isOn;
    this.#kind = kind;
  }

  set isFocused(value: boolean) {
    this.#isFocused = value;
  }

  get isFocused(): boolean {
    return this.#isFocused;
  }

  mute(name: string): void {
    this.#muted.add(name);
  }

  unmute(name: string): boolean {
    return this.#muted.delete(name);
  }

  isMuted(name: string): boolean {
    return this.#muted.has(name);
  }

  /**
   * What to write for something from `from` (a message or a request) in a
   * buffer that is shown or not: the bell and perhaps a notification, or ''.
   */
  alert(from: string, isShown: boolean, title: string, body: string): string {
    if (!this.#isOn || this.#muted.has(from) || (isShown && this.#isFocused)) return '';
    const safeTitle = clean(title);
    const safeBody = clean(body);
    switch (this.#kind) {
      case 'osc777':
        return `\x07\x1b]777;notify;${safeTitle};${safeBody}\x1b\\`;
      case 'osc9':
        return `\x07\x1b]9;${safeTitle}: ${safeBody}\x1b\\`;
      case 'none':
        return '\x07';
    }
  }
}

/** Text for a notification: sanitised, so no ESC, BEL or ST can end the sequence early, and without the ";" that separates its fields. */
function clean(text: string): string {
  return sanitize(text).replace(/;/g, ',').slice(0, MAX_NOTIFICATION_CHARS);
}
