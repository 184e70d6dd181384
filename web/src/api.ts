// The server's HTTP API as the app uses it: login, `me`, blobs.

import type { Session, User } from './sync/store';

/** One problem the core found, as the REST API returns it. */
export interface ApiProblem {
  field: string;
  message: string;
  code?: string;
  params?: Record<string, string>;
}

/**
 * The API answered with an error status: the English message for logs, and the stable
 * `code` with the values it names (`params`) and the core's `problems`, which the
 * interface translates (`errorText` in i18n/errors.ts).
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string = '',
    readonly params: Record<string, string> = {},
    readonly problems: ApiProblem[] = [],
  ) {
    super(message);
  }
}

/** The error of a failed answer: its JSON body `{error, code, params, problems}` if any. */
export async function errorOf(r: Response): Promise<ApiError> {
  let message = `${r.status} ${r.statusText}`;
  let code = '';
  let params: Record<string, string> = {};
  let problems: ApiProblem[] = [];
  try {
    const j = (await r.json()) as { error?: string; code?: string; params?: Record<string, string>; problems?: ApiProblem[] };
    if (j.error) message = j.error;
    if (typeof j.code === 'string') code = j.code;
    if (j.params && typeof j.params === 'object') params = j.params;
    if (Array.isArray(j.problems)) problems = j.problems;
  } catch {
    /* not JSON */
  }
  return new ApiError(r.status, message, code, params, problems);
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
