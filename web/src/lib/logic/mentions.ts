// @mention autocomplete in the reply box: find the handle being typed at the caret, and insert the chosen
// agent's handle (the local part of their email address, which the server resolves).

/** The handle the server matches for an agent: the local part of their email address. */
export function handleOf(email: string): string {
  return email.split('@')[0] ?? email;
}

/** The `@query` being typed just before the caret, if any. */
export function mentionAt(text: string, caret: number): { start: number; query: string } | null {
  const before = text.slice(0, caret);
  const match = /(^|[^A-Za-z0-9._+-])@([A-Za-z0-9._+-]{0,40})$/.exec(before);
  if (!match) return null;
  const query = match[2];
  return { start: caret - query.length - 1, query };
}

/** The text with `@handle ` put in place of the `@query` at `start..caret`, and where the caret goes. */
export function insertMention(
  text: string,
  start: number,
  caret: number,
  handle: string,
): { text: string; caret: number } {
  const inserted = `@${handle} `;
  return { text: text.slice(0, start) + inserted + text.slice(caret), caret: start + inserted.length };
}

/** Agents whose name or handle starts with (or contains) the query, best first. */
export function suggest<T extends { name: string; email: string; active: boolean }>(
  agents: T[],
  query: string,
  limit = 6,
): T[] {
  const q = query.toLowerCase();
  const scored = agents
    .filter((agent) => agent.active)
    .map((agent) => {
      const handle = handleOf(agent.email).toLowerCase();
      const name = agent.name.toLowerCase();
      const score = handle.startsWith(q) || name.startsWith(q) ? 0 : handle.includes(q) || name.includes(q) ? 1 : 2;
      return { agent, score };
    })
    .filter((entry) => entry.score < 2);
  scored.sort((a, b) => a.score - b.score || a.agent.name.localeCompare(b.agent.name));
  return scored.slice(0, limit).map((entry) => entry.agent);
}
