// The operator API as the console calls it: the token from sessionStorage
// as a bearer header, no cookies (credentials: 'omit'), JSON in and out,
// and every error the API's own {"error": {code, message, field}} as an
// ApiError. Nothing here decides anything: the API does.

const KEY = 'optguard.console.token';

export function token() {
  return sessionStorage.getItem(KEY) || '';
}

export function setToken(t) {
  sessionStorage.setItem(KEY, t);
}

export function clearToken() {
  sessionStorage.clear();
}

// ApiError is a refused or failed call: status 0 when no answer came.
export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field || '';
  }
}

// url is path with the query's non-empty values.
export function url(path, query) {
  const u = new URL(path, location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') {
      u.searchParams.set(k, String(v));
    }
  }
  return u;
}

// call sends one request. body is JSON unless it is a Blob (a file,
// sent as text/csv). With raw the Response itself is returned (for CSV
// downloads); otherwise the decoded JSON.
export async function call(method, path, { query, body, raw } = {}) {
  const headers = { Authorization: 'Bearer ' + token(), Accept: raw ? 'text/csv, application/json' : 'application/json' };
  let payload;
  if (body instanceof Blob) {
    headers['Content-Type'] = 'text/csv';
    payload = body;
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(url(path, query), { method, headers, body: payload, credentials: 'omit', cache: 'no-store', redirect: 'error' });
  } catch (e) {
    throw new ApiError(0, 'no_answer', 'optguard did not answer (' + e.message + '); check that it is running and try again');
  }
  if (!resp.ok) {
    let err = { code: 'http_' + resp.status, message: resp.status + ' ' + resp.statusText };
    try {
      const j = await resp.json();
      if (j && j.error) err = j.error;
    } catch (_) { /* not the API's JSON: keep the status line */ }
    const e = new ApiError(resp.status, err.code, err.message, err.field);
    if (resp.status === 401) {
      window.dispatchEvent(new CustomEvent('optguard:unauthorized', { detail: e }));
    }
    throw e;
  }
  return raw ? resp : resp.json();
}

export const get = (path, query) => call('GET', path, { query });
export const post = (path, body, query) => call('POST', path, { body, query });

// headings say in a few words what kind of refusal an error code is; the
// API's message that follows says which rule and what to do.
const headings = {
  override_refused: 'Refused by the consent rules',
  country_not_allowed: "The number's country is not allowed",
  invalid_number: 'That is not a phone number',
  wrong_pin: 'Wrong PIN',
  pin_unavailable: 'No PIN can be entered now',
  not_applicable: 'Nothing to do',
  state_changed: 'The consent state changed meanwhile',
  unknown_organization: 'Unknown organization',
  invalid_field: 'Check the form',
  unknown_field: 'Check the form',
  unknown_parameter: 'Check the form',
  malformed_json: 'Check the form',
  invalid_csv: 'The file cannot be imported',
  upload_too_large: 'The file is too large',
  body_too_large: 'Too much text',
  unsupported_media_type: 'Wrong kind of file',
  unauthorized: 'Sign in again',
  forbidden: "Your token's role does not allow this",
  too_many_failures: 'Too many wrong tokens from this address',
  not_found: 'Nothing found',
  method_not_allowed: 'Not available',
  verification_running: 'Already running',
  disk_full: "optguard's disk is full",
  shutting_down: 'optguard is shutting down',
  timeout: 'It took too long',
  internal: 'optguard failed',
  no_answer: 'No answer',
};

// explain is an error in plain words: a heading, the API's message, and
// the status and code for whoever reads the log.
export function explain(e) {
  if (!(e instanceof ApiError)) {
    return { heading: 'Something went wrong', message: String(e && e.message || e), detail: '' };
  }
  const heading = headings[e.code] || 'Refused';
  const field = e.field ? ' (field ' + e.field + ')' : '';
  return { heading, message: e.message + field, detail: e.status ? 'HTTP ' + e.status + ' ' + e.code : '' };
}

// filename is the download name of a response's Content-Disposition.
export function filename(resp, fallback) {
  const cd = resp.headers.get('Content-Disposition') || '';
  const m = /filename="?([^";]+)"?/.exec(cd);
  return m ? m[1] : fallback;
}

// download fetches path as CSV with query and saves it: a Blob link the
// browser downloads, so the token never goes into a URL.
export async function download(path, query, fallback) {
  const resp = await call('GET', path, { query: { ...query, format: 'csv' }, raw: true });
  const blob = await resp.blob();
  const name = filename(resp, fallback);
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 60000);
  return { name, size: blob.size };
}
