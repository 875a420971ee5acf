import { expect, it } from 'vitest';
import { applyPresence, presentOn, PRESENCE_TTL_MS, type PresenceMap } from './presence';

it('tracks who is on a ticket, typing first, and forgets the silent and the departed', () => {
  let map: PresenceMap = new Map();
  map = applyPresence(map, { ticket_id: 1, agent_id: 2, agent_name: 'Bo', state: 'viewing' }, 0);
  map = applyPresence(map, { ticket_id: 1, agent_id: 3, agent_name: 'Ana', state: 'typing' }, 1000);
  expect(presentOn(map, 1, 2000).map((entry) => entry.name)).toEqual(['Ana', 'Bo']);
  expect(presentOn(map, 1, PRESENCE_TTL_MS + 500).map((entry) => entry.name)).toEqual(['Ana']);
  map = applyPresence(map, { ticket_id: 1, agent_id: 3, agent_name: 'Ana', state: 'left' }, 3000);
  expect(presentOn(map, 1, 3000).map((entry) => entry.name)).toEqual(['Bo']);
  expect(presentOn(map, 9, 0)).toEqual([]);
});
