// Who else is on a ticket: presence messages folded into a map, entries forgotten when not repeated in time.

export type PresenceState = 'viewing' | 'typing';

export interface PresenceEntry {
  agentId: number;
  name: string;
  state: PresenceState;
  seenAt: number;
}

/** Entries older than this are dropped (others repeat theirs every 30 s). */
export const PRESENCE_TTL_MS = 70_000;

/** Ticket id → agent id → entry. */
export type PresenceMap = Map<number, Map<number, PresenceEntry>>;

export function applyPresence(
  map: PresenceMap,
  message: { ticket_id: number; agent_id: number; agent_name: string; state: string },
  now: number,
): PresenceMap {
  const next: PresenceMap = new Map(map);
  const agents = new Map(next.get(message.ticket_id) ?? []);
  if (message.state === 'left') agents.delete(message.agent_id);
  else
    agents.set(message.agent_id, {
      agentId: message.agent_id,
      name: message.agent_name,
      state: message.state === 'typing' ? 'typing' : 'viewing',
      seenAt: now,
    });
  if (agents.size) next.set(message.ticket_id, agents);
  else next.delete(message.ticket_id);
  return next;
}

/** The other agents on a ticket now, typing ones first. */
export function presentOn(map: PresenceMap, ticketId: number, now: number): PresenceEntry[] {
  const entries = [...(map.get(ticketId)?.values() ?? [])].filter((entry) => now - entry.seenAt < PRESENCE_TTL_MS);
  return entries.sort((a, b) => (a.state === b.state ? a.name.localeCompare(b.name) : a.state === 'typing' ? -1 : 1));
}
