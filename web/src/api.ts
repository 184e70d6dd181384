// The server's HTTP API as the app uses it: login, `me`, blobs.

import type { Session, User } from './sync/store';

/** The API answered with an error status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function errorOf(r: Response): Promise<ApiError> {
  let message = `${r.status} ${r.statusText}`;
  try {
    const j = (await r.json()) as { error?: string };
    if (j.error) message = j.error;
  } catch {
    /* not JSON */
  }
  return new ApiError(r.status, message);
}

export async function login(
  base: string,
  username: string,
  password: string,
  device: string,
  fetchImpl: typeof fetch = fetch,
): Promise<Session> {
  const r = await fetchImpl(`${base}/api/v1/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password, device }),
  });
  if (!r.ok) throw await errorOf(r);
  const j = (await r.json()) as { token: string; expires_ms: number; user: User; index_id: string | null };
  return { token: j.token, expires_ms: j.expires_ms, user: j.user, index_id: j.index_id, logged_in_ms: Date.now() };
}

export async function logout(base: string, token: string, fetchImpl: typeof fetch = fetch): Promise<void> {
  await fetchImpl(`${base}/api/v1/logout`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
}

/** `valid` when the token works, `invalid` on 401, `unknown` when the server is unreachable. */
export async function checkSession(
  base: string,
  token: string,
  fetchImpl: typeof fetch = fetch,
): Promise<'valid' | 'invalid' | 'unknown'> {
  try {
    const r = await fetchImpl(`${base}/api/v1/me`, { headers: { authorization: `Bearer ${token}` }, cache: 'no-store' });
    if (r.status === 401) return 'invalid';
    return r.ok ? 'valid' : 'unknown';
  } catch {
    return 'unknown';
  }
}

export function syncUrl(base: string, token: string): string {
  const u = new URL('/sync', base);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  u.searchParams.set('token', token);
  return u.toString();
}
