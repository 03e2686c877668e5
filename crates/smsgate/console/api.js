// The admin API client: JSON in and out, the CSRF token of the console
// session on every request that changes something, and problem+json errors
// turned into ApiError (whose message is the problem's `detail`).

const BASE = '/admin/api';
const SAFE_METHODS = new Set(['GET', 'HEAD']);

/** The console session's CSRF token: kept in memory only, never stored. */
let csrf = null;
/** Called when a request is answered 401 (the session ended). */
let onUnauthorized = () => {};

export function setCsrf(token) {
  csrf = token;
}

export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

/** An error answer from the admin API, or no answer at all (status 0). */
export class ApiError extends Error {
  constructor(status, problem) {
    const detail = problem?.detail || problem?.title || (status ? `HTTP ${status}` : 'no answer');
    super(detail);
    this.name = 'ApiError';
    this.status = status;
    this.code = problem?.code ?? null;
    this.title = problem?.title ?? null;
    this.detail = detail;
  }
}

/**
 * Sends one request to the admin API and answers its JSON body (null for
 * 204). Throws ApiError for an error status or a network failure.
 */
export async function api(method, path, body) {
  const headers = { Accept: 'application/json, application/problem+json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (!SAFE_METHODS.has(method) && csrf) headers['X-Smsgate-Csrf'] = csrf;
  let response;
  try {
    response = await fetch(BASE + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch (error) {
    throw new ApiError(0, {
      title: 'No answer',
      detail: `The gateway did not answer (${error.message}). Is it running?`,
    });
  }
  const text = await response.text().catch(() => '');
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const problem = data && typeof data === 'object' ? data : { detail: text.slice(0, 300) || response.statusText };
    const error = new ApiError(response.status, problem);
    if (response.status === 401 && path !== '/login' && path !== '/me') onUnauthorized(error);
    throw error;
  }
  return data;
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body ?? {});
export const put = (path, body) => api('PUT', path, body ?? {});
export const patch = (path, body) => api('PATCH', path, body);
export const del = (path) => api('DELETE', path);

/** One path segment, escaped (system ids and names may hold any character). */
export const seg = (value) => encodeURIComponent(String(value));

/** A query string from the non-empty values of an object ('' when none). */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}
