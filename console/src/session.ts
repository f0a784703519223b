import { api, useCsrfToken } from './api';
import type { Language } from './i18n';

/**
 * A person's session (issue 20): POST/GET/PATCH/DELETE /api/v1/session through the typed client.
 * The session cookie is HttpOnly; the page only ever holds the CSRF token, in memory.
 */
export interface Session {
  account: { name: string; displayName: string; role: 'reader' | 'handler' | 'admin'; language: Language };
  csrfToken: string;
  expiresAt: string;
}

/** The signed-in session, or null when there is none (401). */
export async function readSession(): Promise<Session | null> {
  const { data, response } = await api()
    .GET('/api/v1/session', {})
    .catch((error: unknown) => {
      if (isStatus(error, 401)) return { data: undefined, response: null };
      throw error;
    });
  if (!response || !data) return null;
  return adopt(data as Session);
}

export async function signIn(account: string, password: string, totp: string): Promise<Session> {
  const { data } = await api().POST('/api/v1/session', { body: { account, password, ...(totp ? { totp } : {}) } });
  return adopt(data as Session);
}

export async function changeLanguage(language: Language): Promise<Session> {
  const { data } = await api().PATCH('/api/v1/session', { body: { language } });
  return adopt(data as Session);
}

export async function signOut(): Promise<void> {
  await api().DELETE('/api/v1/session', {});
  useCsrfToken(null);
}

function adopt(session: Session): Session {
  useCsrfToken(session.csrfToken);
  return session;
}

function isStatus(error: unknown, status: number): boolean {
  return typeof error === 'object' && error !== null && 'status' in error && (error as { status: unknown }).status === status;
}
