// Lets a panel beside the reply box (related articles) put text into it without a reference to it: the
// ticket's reply box listens for its ticket, the panel asks. Nothing listening means nothing happens.

type Listener = (text: string) => void;
const listeners = new Map<number, Set<Listener>>();

/** The reply box of `ticketId` calls `listener` with text to insert; the result stops listening. */
export function onReplyInsert(ticketId: number, listener: Listener): () => void {
  let set = listeners.get(ticketId);
  if (!set) listeners.set(ticketId, (set = new Set()));
  set.add(listener);
  return () => {
    set.delete(listener);
    if (!set.size) listeners.delete(ticketId);
  };
}

/** Asks the reply box of `ticketId` to insert `text`; false when no reply box is open for it. */
export function insertIntoReply(ticketId: number, text: string): boolean {
  const set = listeners.get(ticketId);
  if (!set?.size) return false;
  for (const listener of set) listener(text);
  return true;
}
