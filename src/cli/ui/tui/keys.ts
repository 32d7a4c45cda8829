/**
 * What a key does in the full-screen UI. Keys come from node:readline's
 * keypress parser (emitKeypressEvents), which knows the sequences of the
 * common terminals; this maps them to actions, and nothing else.
 */

/** A key as node:readline reports it. */
export interface Key {
  name?: string | undefined;
  ctrl?: boolean | undefined;
  meta?: boolean | undefined;
  shift?: boolean | undefined;
  sequence?: string | undefined;
  code?: string | undefined;
}

export type Action =
  | { kind: 'insert'; text: string }
  | { kind: 'submit' }
  | {
      kind:
        | 'backspace'
        | 'delete'
        | 'left'
        | 'right'
        | 'home'
        | 'end'
        | 'wordLeft'
        | 'wordRight'
        | 'killToEnd'
        | 'killToStart'
        | 'killWordBack';
    }
  | { kind: 'historyUp' | 'historyDown' }
  | { kind: 'complete' }
  | { kind: 'pageUp' | 'pageDown' | 'lineUp' | 'lineDown' }
  | { kind: 'buffer'; index: number }
  | { kind: 'nextBuffer' | 'previousBuffer' }
  | { kind: 'help' | 'redraw' | 'quit' | 'cancel' }
  /** Ctrl-D: deletes forward, or quits on an empty line (as the line UI does). */
  | { kind: 'deleteOrQuit' }
  | { kind: 'focus'; isFocused: boolean }
  | { kind: 'none' };

const CTRL: Record<string, Action> = {
  a: { kind: 'home' },
  e: { kind: 'end' },
  b: { kind: 'left' },
  f: { kind: 'right' },
  k: { kind: 'killToEnd' },
  u: { kind: 'killToStart' },
  w: { kind: 'killWordBack' },
  h: { kind: 'backspace' },
  n: { kind: 'nextBuffer' },
  p: { kind: 'previousBuffer' },
  l: { kind: 'redraw' },
  c: { kind: 'quit' },
  d: { kind: 'deleteOrQuit' },
  g: { kind: 'cancel' },
};

const NAMED: Record<string, Action> = {
  return: { kind: 'submit' },
  enter: { kind: 'submit' },
  backspace: { kind: 'backspace' },
  delete: { kind: 'delete' },
  left: { kind: 'left' },
  right: { kind: 'right' },
  home: { kind: 'home' },
  end: { kind: 'end' },
  up: { kind: 'historyUp' },
  down: { kind: 'historyDown' },
  tab: { kind: 'complete' },
  pageup: { kind: 'pageUp' },
  pagedown: { kind: 'pageDown' },
  f1: { kind: 'help' },
};

/** The action of one key; `ch` is the text it types, if any. */
export function actionOf(ch: string | undefined, key: Key | undefined): Action {
  // Focus reports (CSI I, CSI O; asked for with CSI ?1004h) come as keys without a name.
  if (key?.code === '[I') return { kind: 'focus', isFocused: true };
  if (key?.code === '[O') return { kind: 'focus', isFocused: false };
  const name = key?.name;
  // A lone ESC comes half a second late, as a "meta" escape.
  if (name === 'escape' && key?.sequence === '\x1b') return { kind: 'cancel' };
  if (key?.meta === true && name !== undefined) {
    if (/^[1-9]$/.test(name)) return { kind: 'buffer', index: Number(name) - 1 };
    if (name === 'b') return { kind: 'wordLeft' };
    if (name === 'f') return { kind: 'wordRight' };
    if (name === 'left') return { kind: 'previousBuffer' };
    if (name === 'right') return { kind: 'nextBuffer' };
    if (name === 'backspace') return { kind: 'killWordBack' };
    return { kind: 'none' };
  }
  if (key?.ctrl === true && name !== undefined) {
    if (name === 'left') return { kind: 'wordLeft' };
    if (name === 'right') return { kind: 'wordRight' };
    return CTRL[name] ?? { kind: 'none' };
  }
  if (key?.shift === true && name === 'up') return { kind: 'lineUp' };
  if (key?.shift === true && name === 'down') return { kind: 'lineDown' };
  if (name !== undefined && name in NAMED) return NAMED[name] as Action;
  if (ch !== undefined && ch !== '' && !/^[\u0000-\u001f\u007f]/.test(ch)) return { kind: 'insert', text: ch };
  return { kind: 'none' };
}
