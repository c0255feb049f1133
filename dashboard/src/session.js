// The staff token lives in this tab's sessionStorage: never in a URL, gone when the tab closes.

const KEY = "carepay.dashboard.token";

/** The token from an earlier sign-in in this tab, if any. */
export function savedToken() {
  return sessionStorage.getItem(KEY);
}

/** Keep a token (pasted with or without its "Bearer " prefix); the bare token. */
export function saveToken(text) {
  const token = text.trim().replace(/^Bearer\s+/i, "");
  sessionStorage.setItem(KEY, token);
  return token;
}

/** Sign out of this tab. */
export function forgetToken() {
  sessionStorage.removeItem(KEY);
}
