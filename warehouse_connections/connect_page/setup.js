// The setup view: the script to run in Snowflake, the public key and its fingerprint, each with its own Copy
// (which the key rotation's scripts use too).

/** @import { WarehouseConnection } from "./types.js" */
import { byId, find, message, view } from "./page.js";

const COPIED_FOR_MS = 4000;

/**
 * `SHA256:` and the base64 of the SHA-256 of the key's DER, as Snowflake's DESC USER shows RSA_PUBLIC_KEY_FP;
 * where the browser has no WebCrypto (a page not on https or loopback), the script's own comment line says it.
 * @param {WarehouseConnection} connection
 * @returns {Promise<string>}
 */
export async function fingerprint(connection) {
  if (!globalThis.crypto?.subtle) return /RSA_PUBLIC_KEY_FP = (SHA256:\S+)/.exec(connection.setup_script)?.[1] ?? "";
  const der = Uint8Array.from(atob(connection.public_key), (character) => character.charCodeAt(0));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", der));
  return `SHA256:${btoa(String.fromCharCode(...digest))}`;
}

/** @param {HTMLElement} source selected, so the person can copy it with the keyboard */
function select(source) {
  const range = document.createRange();
  range.selectNodeContents(source);
  window.getSelection()?.removeAllRanges();
  window.getSelection()?.addRange(range);
  source.focus();
}

/** @param {HTMLButtonElement} button */
async function copy(button) {
  const source = byId(button.dataset.copy ?? "");
  const feedback = find(button.parentElement ?? document, ".copied", HTMLElement);
  try {
    await navigator.clipboard.writeText(source.textContent ?? "");
    feedback.textContent = "Copied";
  } catch {
    select(source);
    feedback.textContent = "Selected: press Ctrl+C (⌘C) to copy";
  }
  window.setTimeout(() => {
    feedback.textContent = "";
  }, COPIED_FOR_MS);
}

/** Every Copy button of the page: the setup view's and the key rotation's. */
export function initCopyButtons() {
  for (const button of document.querySelectorAll("button.copy")) {
    if (button instanceof HTMLButtonElement) button.addEventListener("click", () => copy(button));
  }
}

/** @param {WarehouseConnection} connection @param {string | undefined} notice */
export async function renderSetup(connection, notice) {
  const section = view("setup");
  message(find(section, "#setup-notice", HTMLElement), notice);
  find(section, ".setup-account", HTMLElement).textContent = connection.config.account_identifier;
  byId("setup-script").textContent = connection.setup_script;
  byId("public-key").textContent = connection.public_key;
  byId("fingerprint").textContent = await fingerprint(connection);
}
