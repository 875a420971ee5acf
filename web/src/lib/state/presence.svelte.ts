// Presence for the screen: folds live presence messages into reactive state and announces this agent's own
// presence (viewing, typing) with a heartbeat.
import { applyPresence, presentOn, type PresenceEntry, type PresenceMap } from '../logic/presence';
import type { Live } from './live.svelte';

const HEARTBEAT_MS = 30_000;

export class Presence {
  #map = $state<PresenceMap>(new Map());
  now = $state(Date.now());
  #live: Live;
  #mine: { ticketId: number; state: 'viewing' | 'typing' } | null = null;
  #heartbeat: ReturnType<typeof setInterval> | null = null;

  constructor(live: Live) {
    this.#live = live;
    live.on('presence', (message) => {
      this.#map = applyPresence(this.#map, message, Date.now());
      this.now = Date.now();
    });
    setInterval(() => (this.now = Date.now()), 10_000);
  }

  /** The other agents on a ticket. */
  on(ticketId: number): PresenceEntry[] {
    return presentOn(this.#map, ticketId, this.now);
  }

  /** Says this agent is on a ticket (viewing or typing); null leaves. */
  set(ticketId: number | null, state: 'viewing' | 'typing' = 'viewing') {
    const previous = this.#mine;
    if (previous && previous.ticketId !== ticketId) this.#live.send({ type: 'left', ticket_id: previous.ticketId });
    if (ticketId === null) {
      this.#mine = null;
      if (this.#heartbeat) clearInterval(this.#heartbeat);
      this.#heartbeat = null;
      return;
    }
    if (previous?.ticketId === ticketId && previous.state === state) return;
    this.#mine = { ticketId, state };
    this.#live.send({ type: state, ticket_id: ticketId });
    if (!this.#heartbeat)
      this.#heartbeat = setInterval(() => {
        if (this.#mine) this.#live.send({ type: this.#mine.state, ticket_id: this.#mine.ticketId });
      }, HEARTBEAT_MS);
  }
}
