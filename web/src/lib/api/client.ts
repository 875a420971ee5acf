// The typed API client: openapi-fetch over the generated schema, with the CSRF header on unsafe methods and
// one place that notices an ended session (any 401 outside sign-in).
import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema';

export type Schemas = components['schemas'];
export type Ticket = Schemas['TicketDto'];
export type Message = Schemas['MessageDto'];
export type TicketEvent = Schemas['EventDto'];
export type Agent = Schemas['AgentDto'];
export type Group = Schemas['GroupDto'];
export type Customer = Schemas['CustomerDto'];
export type Organization = Schemas['OrganizationDto'];
export type Attachment = Schemas['AttachmentDto'];
export type CustomField = Schemas['CustomFieldDto'];
export type Category = Schemas['CategoryDto'];
export type Status = Schemas['StatusDto'];
export type Priority = Schemas['PriorityDto'];
export type Role = Schemas['RoleDto'];
export type Link = Schemas['LinkDto'];
export type Problem = Schemas['Problem'];
export type TicketPatch = Schemas['TicketPatch'];

export const STATUSES: Status[] = ['new', 'open', 'pending', 'on_hold', 'solved', 'closed'];
export const PRIORITIES: Priority[] = ['urgent', 'high', 'normal', 'low'];
export const ROLES: Role[] = ['admin', 'supervisor', 'agent', 'collaborator'];

/** An API error with its problem+json body (`code` is the stable thing to branch on). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Partial<Problem> & { code: string },
  ) {
    super(problem.detail ?? problem.code);
  }
  get code() {
    return this.problem.code;
  }
}

let csrfToken = '';
const expiredListeners = new Set<() => void>();

/** Remembers the CSRF token of the signed-in session. */
export function setCsrfToken(token: string) {
  csrfToken = token;
}

/** Calls `listener` whenever a request finds the session gone. */
export function onSessionExpired(listener: () => void): () => void {
  expiredListeners.add(listener);
  return () => expiredListeners.delete(listener);
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const auth: Middleware = {
  onRequest({ request }) {
    if (UNSAFE.has(request.method) && csrfToken) request.headers.set('X-CSRF-Token', csrfToken);
    return request;
  },
  onResponse({ request, response }) {
    const path = new URL(request.url).pathname;
    if (response.status === 401 && !path.startsWith('/api/v1/auth/')) {
      for (const listener of expiredListeners) listener();
    }
    return response;
  },
};

export const api = createClient<paths>({
  baseUrl: typeof location === 'undefined' ? 'http://localhost' : location.origin,
  credentials: 'same-origin',
});
api.use(auth);

/** Unwraps an openapi-fetch result: the data, or an ApiError. */
export async function ok<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await call;
  if (response.ok) return data as T;
  const problem =
    error && typeof error === 'object' && 'code' in error
      ? (error as Problem)
      : { code: `http.${response.status}`, detail: response.statusText };
  throw new ApiError(response.status, problem);
}

/** A plain JSON call for endpoints not (yet) in the schema, with the same CSRF and expiry handling. */
export async function rawJson<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (UNSAFE.has(method) && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  const response = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) for (const listener of expiredListeners) listener();
  const text = await response.text();
  const json = text ? JSON.parse(text) : undefined;
  if (!response.ok) throw new ApiError(response.status, json ?? { code: `http.${response.status}` });
  return json as T;
}

/** Uploads a file as an attachment (multipart, field `file`). */
export async function uploadAttachment(file: File): Promise<Attachment> {
  const form = new FormData();
  form.append('file', file, file.name);
  const response = await fetch('/api/v1/attachments', {
    method: 'POST',
    body: form,
    credentials: 'same-origin',
    headers: csrfToken ? { 'X-CSRF-Token': csrfToken } : {},
  });
  const json = await response.json().catch(() => ({ code: `http.${response.status}` }));
  if (!response.ok) throw new ApiError(response.status, json);
  return json as Attachment;
}
