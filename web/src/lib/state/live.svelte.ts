// The live socket: typed events from /api/v1/live to whoever listens, presence messages out, and a
// reconnect with backoff. After a reconnect, listeners get `lagged` so screens reload what they show.
import type { Schemas } from '../api/client';

type LiveMessage = Schemas['LiveMessage'];
type Of<K extends LiveMessage['type']> = Extract<LiveMessage, { type: K }>;

/** Every event a screen can listen to. */
export interface LiveEvents {
  hello: Of<'hello'>;
  ticket: Of<'ticket'>;
  ticket_removed: Of<'ticket_removed'>;
  lagged: Of<'lagged'>;
  presence: Of<'presence'>;
  mention: Of<'mention'>;
  notification: Of<'notification'>;
}

/** What the workspace tells the server. */
export type ClientMessage = { type: 'viewing' | 'typing' | 'left'; ticket_id: number };

type Handler<K extends keyof LiveEvents> = (event: LiveEvents[K]) => void;

export class Live {
  connected = $state(false);
  #socket: WebSocket | null = null;
  #handlers = new Map<keyof LiveEvents, Set<Handler<never>>>();
  #retry = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #stopped = true;
  #everConnected = false;
  /** Repeated on reconnect so presence survives a dropped socket. */
  #present = new Map<number, ClientMessage>();

  on<K extends keyof LiveEvents>(type: K, handler: Handler<K>): () => void {
    let set = this.#handlers.get(type);
    if (!set) this.#handlers.set(type, (set = new Set()));
    set.add(handler as Handler<never>);
    return () => set.delete(handler as Handler<never>);
  }

  #emit<K extends keyof LiveEvents>(type: K, event: LiveEvents[K]) {
    for (const handler of this.#handlers.get(type) ?? []) {
      try {
        (handler as Handler<K>)(event);
      } catch (error) {
        console.error('live handler failed', error);
      }
    }
  }

  start() {
    this.#stopped = false;
    this.#connect();
  }

  stop() {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#socket?.close(1000);
    this.#socket = null;
    this.connected = false;
  }

  send(message: ClientMessage) {
    if (message.type === 'left') this.#present.delete(message.ticket_id);
    else this.#present.set(message.ticket_id, message);
    if (this.#socket?.readyState === WebSocket.OPEN) this.#socket.send(JSON.stringify(message));
  }

  #connect() {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const socket = new WebSocket(`${scheme}://${location.host}/api/v1/live`);
    this.#socket = socket;
    socket.onopen = () => {
      this.#retry = 0;
      this.connected = true;
      for (const message of this.#present.values()) socket.send(JSON.stringify(message));
      if (this.#everConnected) this.#emit('lagged', { type: 'lagged', missed: 0 });
      this.#everConnected = true;
    };
    socket.onmessage = (event) => {
      let message: LiveMessage;
      try {
        message = JSON.parse(event.data as string) as LiveMessage;
      } catch {
        return;
      }
      this.#emit(message.type, message as never);
    };
    socket.onclose = () => {
      this.connected = false;
      if (this.#socket !== socket || this.#stopped) return;
      const delay = Math.min(30_000, 1000 * 2 ** this.#retry) * (0.75 + Math.random() / 2);
      this.#retry += 1;
      this.#timer = setTimeout(() => this.#connect(), delay);
    };
  }
}
