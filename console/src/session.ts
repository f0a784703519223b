import { api, unwrap, useCsrfToken, HikeshiProblemError, type Schemas } from './api';

/**
 * A person's session (issue 20): POST/GET/PATCH/DELETE /api/v1/session through the typed client.
 * The session cookie is HttpOnly; the page only ever holds the CSRF token, in memory.
 */
export type Session = Schemas['Session'];

/** The signed-in session, or null when there is none (401). */
export async function readSession(): Promise<Session | null> {
  try {
    return adopt(await unwrap(api().GET('/api/v1/session', {})));
  } catch (error) {
    if (error instanceof HikeshiProblemError && error.status === 401) return null;
    throw error;
  }
}

export async function signIn(account: string, password: string, totp: string): Promise<Session> {
  return adopt(await unwrap(api().POST('/api/v1/session', { body: { account, password, ...(totp ? { totp } : {}) } })));
}

export async function changeLanguage(language: Session['account']['language']): Promise<Session> {
  return adopt(await unwrap(api().PATCH('/api/v1/session', { body: { language } })));
}

export async function signOut(): Promise<void> {
  await api().DELETE('/api/v1/session', {});
  useCsrfToken(null);
}

function adopt(session: Session): Session {
  useCsrfToken(session.csrfToken);
  return session;
}
