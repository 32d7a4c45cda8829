/** Where a peer's data lives: its default data directory, and names made safe as file names in it. */
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The file name of a conversation's history: encodeURIComponent with '.' and
 * '*' escaped too, so no name ('..', '.hidden', 'a*') can leave history/ or be
 * special to a shell, and distinct names map to distinct files. A lone
 * surrogate (which encodeURIComponent rejects) becomes %uXXXX; '%' itself is
 * always escaped, so that cannot collide with another name.
 */
export function fileSafeName(name: string): string {
  let out = '';
  for (const ch of name) {
    const code = ch.codePointAt(0) as number;
    if (code >= 0xd800 && code <= 0xdfff) out += `%u${code.toString(16).toUpperCase()}`;
    else out += encodeURIComponent(ch).replace(/\./g, '%2E').replace(/\*/g, '%2A');
  }
  return out;
}

/** The default data directory for a display name: $XDG_DATA_HOME/natter/<encoded name> (XDG_DATA_HOME default ~/.local/share). */
export function defaultDataDir(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const data = env.XDG_DATA_HOME !== undefined && env.XDG_DATA_HOME !== '' ? env.XDG_DATA_HOME : join(homedir(), '.local', 'share');
  return join(data, 'natter', fileSafeName(name));
}
