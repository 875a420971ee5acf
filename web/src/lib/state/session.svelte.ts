// The signed-in agent: sign in (with the two-factor step), sign out, and an ended session noticed by any
// request, which shows the sign-in form over the current screen instead of losing it.
import { api, ApiError, ok, onSessionExpired, setCsrfToken, type Agent } from '../api/client';

export type SessionStatus = 'loading' | 'signed_out' | 'signed_in' | 'expired';

export class Session {
  agent = $state<Agent | null>(null);
  status = $state<SessionStatus>('loading');

  constructor() {
    onSessionExpired(() => {
      if (this.status === 'signed_in') this.status = 'expired';
    });
  }

  get isAdmin() {
    return this.agent?.role === 'admin';
  }

  async load() {
    try {
      const session = await ok(api.GET('/api/v1/auth/session'));
      setCsrfToken(session.csrf_token);
      this.agent = session.agent;
      this.status = 'signed_in';
    } catch {
      this.status = 'signed_out';
    }
  }

  /** Signs in; resolves to `totp_required` when the account needs a code first. */
  async signIn(email: string, password: string, totp?: string): Promise<'ok' | 'totp_required'> {
    try {
      const session = await ok(
        api.POST('/api/v1/auth/login', { body: { email, password, totp: totp || undefined } }),
      );
      setCsrfToken(session.csrf_token);
      const switched = this.agent !== null && this.agent.id !== session.agent.id;
      this.agent = session.agent;
      this.status = 'signed_in';
      if (switched) location.assign('/');
      return 'ok';
    } catch (error) {
      if (error instanceof ApiError && error.code === 'auth.totp_required') return 'totp_required';
      throw error;
    }
  }

  async signOut() {
    try {
      await ok(api.POST('/api/v1/auth/logout'));
    } finally {
      setCsrfToken('');
      this.agent = null;
      this.status = 'signed_out';
      location.assign('/');
    }
  }
}
