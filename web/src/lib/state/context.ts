// The workspace's shared state, handed to components through Svelte contexts.
import { createContext } from 'svelte';
import type { Directory } from './directory.svelte';
import type { Live } from './live.svelte';
import type { Presence } from './presence.svelte';
import type { Session } from './session.svelte';
import type { Toasts } from './toasts.svelte';

export interface Workspace {
  session: Session;
  live: Live;
  directory: Directory;
  presence: Presence;
  toasts: Toasts;
}

export const [getWorkspace, setWorkspace] = createContext<Workspace>();
