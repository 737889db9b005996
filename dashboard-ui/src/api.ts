/** The credentials were refused: the page asks for the token again. */
export class UnauthorizedError extends Error {
  constructor() {
    super('the admin token was refused');
  }
}

const TOKEN_KEY = 'symphony-dashboard-token';

// Session storage, not local storage: the admin token then survives a reload but not the tab, and
// is not left on disk for whoever uses the browser (or any script of the origin) next week.
export function savedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function saveToken(token: string | null): void {
  if (token === null) sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
}

/** GETs a path relative to the page (`api/rooms`), so the dashboard works under any mount point. */
export async function getJson<T>(path: string, token: string, signal?: AbortSignal): Promise<T> {
  const response = await fetch(path, { headers: { authorization: `Bearer ${token}` }, cache: 'no-store', signal });
  if (response.status === 401) throw new UnauthorizedError();
  if (response.status === 429) throw new Error(`too many failed attempts from this address; try again in ${response.headers.get('retry-after') ?? 'a'} s`);
  if (!response.ok) {
    const body = (await response.json().catch(() => null)) as { error?: string } | null;
    throw new Error(`${path}: ${response.status} ${body?.error ?? response.statusText}`);
  }
  return (await response.json()) as T;
}

/**
 * Sends a POST or DELETE to a path relative to the page, with an optional JSON body; resolves to
 * the JSON answer (null for 204). A refusal throws with the server's `{ error }` message.
 */
export async function sendJson<T>(method: 'POST' | 'DELETE', path: string, token: string, body?: unknown): Promise<T | null> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  if (response.status === 401) throw new UnauthorizedError();
  if (!response.ok) {
    const answer = (await response.json().catch(() => null)) as { error?: string } | null;
    throw new Error(`${response.status} ${answer?.error ?? response.statusText}`);
  }
  return response.status === 204 ? null : ((await response.json()) as T);
}
