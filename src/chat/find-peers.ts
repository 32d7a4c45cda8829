/** How a chat finds its peers: the choice startChat() takes and ChatSession keeps (docs/chat.md, "Finding each other"). */
import type { FriendsTable } from '../discovery/friends-table.ts';

export interface HostPort {
  host: string;
  port: number;
}

/** A directory, a friends table, or (neither) the local rendezvous with the LAN. */
export type FindPeers =
  | { kind: 'directory'; directory: HostPort }
  | { kind: 'friends'; table: FriendsTable; file: string }
  | { kind: 'local'; rendezvous: HostPort };
