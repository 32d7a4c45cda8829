/**
 * The words natter's terminal UIs use for events: the line UI and the
 * full-screen UI say the same things the same way.
 */
import type { ChatEventOf } from '../../chat/events.ts';
import type { LinkKind } from '../../peer/links/connector.ts';
import { columns } from './input.ts';
import { sanitize } from './sanitize.ts';

/** How a chat's path is told when it opens. */
export const PATH_NOTE: Record<LinkKind, string> = {
  direct: '',
  punched: ' (punched through the NATs)',
  relay: ' (relayed through the directory)',
};

/** How a chat's move to another path is told. */
export const MOVED: Record<LinkKind, string> = {
  direct: 'now goes direct',
  punched: 'now goes through a connection punched through the NATs',
  relay: 'is now relayed through the directory',
};

/** How long receipts are gathered into one delivery mark. */
export const DELIVERED_MARK_MS = 150;

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** A history line's time: the date too when it is not today. */
export function formatTime(ts: number): string {
  const d = new Date(ts);
  const pad = (v: number): string => String(v).padStart(2, '0');
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return d.toDateString() === new Date().toDateString() ? time : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
}

/** How long ago, for people: seconds, minutes, hours or days. */
export function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s} s`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} days`;
}

/** /whois, for people: the fingerprint to compare, and how natter came to hold it; one string per line. */
export function describeKey(e: ChatEventOf<'whois'>): string[] {
  const lines: string[] = [];
  const name = sanitize(e.name);
  if (e.fingerprint === undefined) lines.push(`${name}: no key known yet (it is pinned on first contact)`);
  else {
    const how =
      e.status === 'verified'
        ? 'verified: the friends table gives this key'
        : e.status === 'pinned'
          ? `pinned on first contact, ${(e.since ?? '').slice(0, 10)}; compare it with ${name} to verify`
          : e.status === 'announced'
            ? 'announced on the LAN, where anyone can announce anything; not met yet'
            : 'published by the directory; not met yet';
    lines.push(`${name}: ${e.fingerprint}  (${how})`);
  }
  if (e.published !== undefined) lines.push(`  the directory now publishes another key: ${e.published}`);
  if (e.offered !== undefined) lines.push(`  a connection offered another key, refused: ${e.offered}; /trust ${name} accepts it`);
  if (e.link !== undefined)
    lines.push(
      `  connected now: ${e.link === 'relay' ? 'relayed through the directory' : e.link === 'punched' ? 'punched through the NATs' : 'direct'}`,
    );
  return lines;
}

/**
 * /who's rows, in columns: name, source, address, fingerprint, connection,
 * and for members of our rooms, the rooms and whether they are reachable now;
 * then the members of our rooms no way of finding peers lists.
 */
export function whoLines(e: ChatEventOf<'who'>): string[] {
  const inRooms = (p: { rooms?: string[]; reachable?: boolean }): string[] =>
    p.rooms === undefined
      ? []
      : [`${p.rooms.map((r) => `#${sanitize(r)}`).join(' ')}: ${p.reachable === true ? 'reachable now' : 'not reachable now'}`];
  return columns([
    ...e.peers.map((p) => [
      sanitize(p.name),
      p.source,
      `${p.ip}:${p.port}`,
      ...(p.fingerprint === undefined ? [] : [p.fingerprint]),
      ...(p.connected === undefined
        ? p.link === undefined
          ? []
          : [`connected, ${p.link}`]
        : [p.connected ? `connected${p.link === undefined ? '' : `, ${p.link}`}` : 'not connected']),
      ...inRooms(p),
    ]),
    ...(e.members ?? []).map((m) => [sanitize(m.name), 'member', 'not listed', ...inRooms(m)]),
  ]);
}

/** /outbox's rows, in columns: name, how many, how old the oldest is. */
export function outboxLines(e: ChatEventOf<'outbox'>): string[] {
  return columns(e.waiting.map((w) => [`  ${w.to}`, plural(w.count, 'message'), `oldest ${age(Date.now() - w.oldest)} ago`]));
}
