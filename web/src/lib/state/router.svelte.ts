// Client-side routes over the History API. The server answers every non-API path with the app shell.

export type Route =
  | { name: 'inbox'; view: string }
  | { name: 'ticket'; id: number }
  | { name: 'admin'; section: AdminSection }
  | { name: 'search' }
  | { name: 'kb'; section: KbSection; id?: number }
  | { name: 'not_found' };

export const ADMIN_SECTIONS = [
  'agents',
  'groups',
  'roles',
  'fields',
  'categories',
  'macros',
  'mailboxes',
  'calendars',
  'sla',
  'triggers',
  'automations',
] as const;
export type AdminSection = (typeof ADMIN_SECTIONS)[number];

/** The knowledge base's screens: `/kb` (articles), `/kb/articles/new`, `/kb/articles/12`, and the rest by name. */
export const KB_SECTIONS = ['articles', 'article', 'categories', 'analytics', 'branding'] as const;
export type KbSection = (typeof KB_SECTIONS)[number];

/** The route for a path such as `/tickets/12` or `/views/mine`. */
export function parseRoute(path: string): Route {
  const clean = path.split(/[?#]/)[0].replace(/\/+$/, '') || '/';
  if (clean === '/') return { name: 'inbox', view: 'mine' };
  let match = /^\/views\/([a-z_]+|saved-\d{1,15})$/.exec(clean);
  if (match) return { name: 'inbox', view: match[1] };
  match = /^\/tickets\/(\d{1,15})$/.exec(clean);
  if (match) return { name: 'ticket', id: Number(match[1]) };
  if (clean === '/search') return { name: 'search' };
  if (clean === '/kb') return { name: 'kb', section: 'articles' };
  if (clean === '/kb/articles/new') return { name: 'kb', section: 'article' };
  match = /^\/kb\/articles\/(\d{1,15})$/.exec(clean);
  if (match) return { name: 'kb', section: 'article', id: Number(match[1]) };
  match = /^\/kb\/(categories|analytics|branding)$/.exec(clean);
  if (match) return { name: 'kb', section: match[1] as KbSection };
  match = /^\/admin(?:\/([a-z]+))?$/.exec(clean);
  if (match) {
    const section = (match[1] ?? 'agents') as AdminSection;
    if (ADMIN_SECTIONS.includes(section)) return { name: 'admin', section };
  }
  return { name: 'not_found' };
}

class Router {
  path = $state(typeof location === 'undefined' ? '/' : location.pathname + location.search);
  route = $derived(parseRoute(this.path));
  /** The last inbox path, so Escape on a ticket goes back to the same view. */
  lastInbox = $state('/');

  constructor() {
    if (typeof window === 'undefined') return;
    if (this.route.name === 'inbox') this.lastInbox = this.path;
    window.addEventListener('popstate', () => {
      this.path = location.pathname + location.search;
      if (this.route.name === 'inbox') this.lastInbox = this.path;
    });
    document.addEventListener('click', (event) => {
      if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
      const anchor = (event.target as Element).closest?.('a[href]') as HTMLAnchorElement | null;
      if (!anchor || anchor.target || anchor.origin !== location.origin) return;
      if (anchor.pathname.startsWith('/api/') || anchor.hasAttribute('download')) return;
      event.preventDefault();
      this.go(anchor.pathname + anchor.search);
    });
  }

  go(path: string, replace = false) {
    if (path === this.path) return;
    if (replace) history.replaceState(null, '', path);
    else history.pushState(null, '', path);
    this.path = path;
    if (this.route.name === 'inbox') this.lastInbox = path;
  }
}

export const router = new Router();
