// Rotating the key: "Rotate key" shows the pending rotation (or starts one) with its script; "Complete rotation"
// switches to the new key and shows the script that removes the old one; "Cancel rotation" discards the new key.
// The current key keeps working throughout.

/** @import { Flow, KeyRotation, WarehouseConnection } from "./types.js" */
import { ApiError, cancelKeyRotation, completeKeyRotation, getConnection, getKeyRotation, startKeyRotation } from "./api.js";
import { announce, byId, find, message, view } from "./page.js";
import { renderFailedStep } from "./testing.js";

const COMPLETED = "The new key works: the connection logs in with it from now on.";
const SLOTS = /** @type {const} */ (["RSA_PUBLIC_KEY", "RSA_PUBLIC_KEY_2"]);

/** @type {KeyRotation | null} the rotation on screen */
let shown = null;

/**
 * The line that takes a key from the user, for the user as the rotation script names it (quoted as the server
 * quotes it), with a space before it.
 * @param {KeyRotation} rotation
 * @param {KeyRotation["key_slot"]} slot
 */
function unsetLine(rotation, slot) {
  const user = /^ALTER USER (.+) SET RSA_PUBLIC_KEY(?:_2)? = /m.exec(rotation.rotation_script)?.[1];
  return user ? ` ALTER USER ${user} UNSET ${slot};` : ` unset ${slot} of the service's user.`;
}

/** @param {WarehouseConnection} connection @param {KeyRotation} rotation @param {string} notice */
function renderRotation(connection, rotation, notice) {
  shown = rotation;
  const section = view("rotate");
  message(byId("rotate-notice"), notice);
  find(section, ".rotate-account", HTMLElement).textContent = connection.config.account_identifier;
  for (const slot of section.querySelectorAll(".rotate-slot")) slot.textContent = rotation.key_slot;
  byId("rotation-script").textContent = rotation.rotation_script;
  byId("rotation-fingerprint").textContent = rotation.public_key_fingerprint;
  byId("rotate-failure").hidden = true;
  message(find(section, ".rotate-error", HTMLElement), null);
}

/** @param {Flow} flow the pending rotation if there is one (another tab's, or one left earlier), else a new one */
async function open(flow) {
  const connection = flow.connection();
  const pending = await getKeyRotation(connection.id);
  let notice = "A new key pair is ready; the current key keeps working until you complete the rotation.";
  if (pending) {
    const since = new Date(pending.started_at).toLocaleString(undefined, { dateStyle: "long", timeStyle: "short" });
    notice = `This key rotation is pending since ${since}; the current key keeps working until you complete it.`;
  }
  renderRotation(connection, pending ?? (await startKeyRotation(connection.id)), notice);
  flow.showView("rotate", connection, notice);
}

/**
 * A 404 of the rotation on screen: completed or cancelled elsewhere (the connection's key tells which), or the
 * connection deleted (getConnection's 404, which the guard handles).
 * @param {Flow} flow
 */
async function rotationGone(flow) {
  const connection = await getConnection(flow.connection().id);
  const rotation = shown;
  if (!rotation) return flow.showManage(connection, "No key rotation is pending any more.");
  if (connection.public_key !== rotation.public_key) {
    const unused = `This key rotation was cancelled elsewhere; its new key pair is deleted. If you ran its script, remove the unused key:`;
    return flow.showManage(connection, unused + unsetLine(rotation, rotation.key_slot));
  }
  const old = SLOTS.find((slot) => slot !== rotation.key_slot) ?? rotation.key_slot;
  flow.showManage(
    connection,
    `This key rotation was completed elsewhere: the connection logs in with the new key now. Remove the old key:${unsetLine(rotation, old)}`,
  );
}

/**
 * A 409 that changed nothing because the connection or the rotation changed meanwhile: the rotation as it is now
 * (its script names the user as the connection has it now), or manage if it has ended.
 * @param {Flow} flow
 * @returns {Promise<boolean>} whether the rotation is on screen, where the 409's detail belongs
 */
async function showCurrent(flow) {
  const connection = await getConnection(flow.connection().id);
  const pending = await getKeyRotation(connection.id);
  if (!pending) {
    await rotationGone(flow);
    return false;
  }
  renderRotation(connection, pending, "The connection or its key rotation changed meanwhile: this is the rotation as it is now.");
  flow.showView("rotate", connection);
  return true;
}

/** @param {Flow} flow */
async function complete(flow) {
  const { id } = flow.connection();
  const failure = byId("rotate-failure");
  failure.hidden = true;
  announce("Checking the new key…");
  try {
    const completed = await completeKeyRotation(id);
    message(byId("rotated-notice"), COMPLETED);
    byId("cleanup-script").textContent = completed.cleanup_script;
    find(view("rotated"), ".rotated-account", HTMLElement).textContent = completed.connection.config.account_identifier;
    flow.showView("rotated", completed.connection, COMPLETED);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (error.status === 404) return rotationGone(flow);
    if (error.status === 409 && !error.step && !(await showCurrent(flow))) return;
    if (!error.step) throw error;
    renderFailedStep(failure, error.step, error.step.message ?? error.detail, "complete the rotation again");
    failure.hidden = false;
    failure.focus();
    announce(`Not completed. ${find(failure, ".failed-step", HTMLElement).textContent}`);
  }
}

/** @param {Flow} flow */
async function cancel(flow) {
  const connection = flow.connection();
  try {
    await cancelKeyRotation(connection.id);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return rotationGone(flow);
    throw error;
  }
  const unset = shown ? ` If you ran its script, remove the unused key:${unsetLine(shown, shown.key_slot)}` : "";
  flow.showManage(connection, `Key rotation cancelled; its new key pair is deleted.${unset}`);
}

/**
 * Runs `action` when `button` is clicked, every button of its view disabled meanwhile; problems show in `messages`.
 * @param {Flow} flow
 * @param {string} buttonId
 * @param {string} messagesSelector in the button's view
 * @param {(flow: Flow) => Promise<void>} action
 */
function whenClicked(flow, buttonId, messagesSelector, action) {
  const button = byId(buttonId);
  const section = button.closest("section");
  if (!(section instanceof HTMLElement)) throw new Error(`#${buttonId} is outside every view.`);
  const messages = find(section, messagesSelector, HTMLElement);
  const progress = section.querySelector(`.progress[data-for="${buttonId}"]`);
  button.addEventListener("click", async () => {
    message(messages, null);
    const idle = makeBusy(section, progress);
    await flow.guard(() => action(flow), messages);
    idle();
  });
}

/**
 * Disables the view's buttons and shows `progress`; returns what gives them back the state they had (a test may
 * be running from the same view).
 * @param {HTMLElement} section
 * @param {Element | null} progress
 * @returns {() => void}
 */
function makeBusy(section, progress) {
  const buttons = [...section.querySelectorAll(".actions button")].filter((button) => button instanceof HTMLButtonElement);
  const disabled = buttons.map((button) => button.disabled);
  const busy = section.getAttribute("aria-busy");
  for (const button of buttons) button.disabled = true;
  if (progress instanceof HTMLElement) progress.hidden = false;
  section.setAttribute("aria-busy", "true");
  return () => {
    buttons.forEach((button, index) => {
      button.disabled = disabled[index] ?? false;
    });
    if (progress instanceof HTMLElement) progress.hidden = true;
    if (busy === null) section.removeAttribute("aria-busy");
    else section.setAttribute("aria-busy", busy);
  };
}

/** @param {Flow} flow */
export function initRotation(flow) {
  whenClicked(flow, "rotate-button", ".test-error", open);
  whenClicked(flow, "complete-rotation-button", ".rotate-error", complete);
  whenClicked(flow, "cancel-rotation-button", ".rotate-error", cancel);
}
