// Who the page calls the API as: an API key typed in (kept in sessionStorage for this tab only), or a bearer
// token handed over by the embedding platform (kept in memory only: the platform hands it again on a reload).

const STORAGE_KEY = "wc-connect:api-key";
const TOKEN_MESSAGE = "wc-connect-token";
const READY_MESSAGE = "wc-connect-ready";

/** @typedef {{ organisation: number, scheme: "Api-Key" | "Bearer", credential: string }} Credentials */

/** @type {Credentials | null} */
let current = null;

/** @param {unknown} value @returns {number | null} */
export function organisationId(value) {
  const text = String(value ?? "").trim();
  return /^[1-9][0-9]{0,17}$/.test(text) ? Number(text) : null;
}

/** @returns {Credentials | null} the API key this tab signed in with, if any */
export function restoreApiKey() {
  const stored = sessionStorage.getItem(STORAGE_KEY);
  if (!stored) return null;
  const [organisation, key] = stored.split(" ", 2);
  const id = organisationId(organisation);
  if (id === null || !key) return null;
  current = { organisation: id, scheme: "Api-Key", credential: key };
  return current;
}

/** @param {number} organisation @param {string} key */
export function signInWithApiKey(organisation, key) {
  current = { organisation, scheme: "Api-Key", credential: key };
  sessionStorage.setItem(STORAGE_KEY, `${organisation} ${key}`);
}

/** @param {number} organisation @param {string} token */
export function signInWithToken(organisation, token) {
  current = { organisation, scheme: "Bearer", credential: token };
  sessionStorage.removeItem(STORAGE_KEY);
}

export function signOut() {
  current = null;
  sessionStorage.removeItem(STORAGE_KEY);
}

/** @returns {Credentials | null} */
export function credentials() {
  return current;
}

/**
 * The organisation a platform token is for, when its `organisations` claim names exactly one. The claim is read,
 * not trusted: the server verifies the token and answers 401 or 403.
 * @param {string} token
 * @returns {number | null}
 */
export function organisationInToken(token) {
  try {
    const payload = token.split(".")[1] ?? "";
    const claims = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/")));
    const organisations = Object.keys(claims?.organisations ?? {});
    return organisations.length === 1 ? organisationId(organisations[0]) : null;
  } catch {
    return null;
  }
}

/**
 * `#token=…[&organisation=N]`: read once, then removed from the address bar and the history entry.
 * @returns {{ token: string, organisation: number | null } | null}
 */
export function takeTokenFromFragment() {
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  const token = fragment.get("token");
  if (!token) return null;
  history.replaceState(history.state, "", window.location.pathname + window.location.search);
  return { token, organisation: organisationId(fragment.get("organisation")) ?? organisationInToken(token) };
}

/**
 * Takes a token posted by the embedding page, from one of `origins` only, and tells those origins the page is ready.
 * @param {string[]} origins
 * @param {(token: string, organisation: number | null) => void} onToken
 */
export function listenForToken(origins, onToken) {
  if (window.parent === window || origins.length === 0) return;
  window.addEventListener("message", (event) => {
    const data = event.data;
    if (event.source !== window.parent || !origins.includes(event.origin)) return;
    if (typeof data !== "object" || data === null || data.type !== TOKEN_MESSAGE) return;
    if (typeof data.token !== "string" || !data.token) return;
    onToken(data.token, organisationId(data.organisation) ?? organisationInToken(data.token));
  });
  for (const origin of origins) window.parent.postMessage({ type: READY_MESSAGE }, origin);
}
