// Rotating the key: "Rotate key" shows the pending rotation (or starts one) with its script; "Complete rotation"
// switches to the new key and shows the script that removes the old one; "Cancel rotation" discards the new key.
// The current key keeps working throughout.

/** @import { Flow, KeyRotation, WarehouseConnection } from "./types.js" */
import { ApiError, cancelKeyRotation, completeKeyRotation, getConnection, getKeyRotation, startKeyRotation } from "./api.js";
import { announce, byId, find, message, view } from "./page.js";
import { renderFailedStep } from "./testing.js";

const COMPLETED = "The new key works: the connection logs in with it from now on.";

/** @type {KeyRotation | null} the rotation on screen */
let shown = null;

/** @param {string} name a Snowflake identifier as the setup scripts write it */
function quoted(name) {
  return `"${name.replaceAll('"', '""')}"`;
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
  if (pending) {
    const since = new Date(pending.started_at).toLocaleString(undefined, { dateStyle: "long", timeStyle: "short" });
    renderRotation(connection, pending, `This key rotation is pending since ${since}; the current key keeps working until you complete it.`);
  } else {
    renderRotation(connection, await startKeyRotation(connection.id), "A new key pair is ready; the current key keeps working until you complete the rotation.");
  }
  flow.showView("rotate", connection);
}

/** A 404 of the rotation: gone (completed or cancelled elsewhere), or the connection with it. @param {Flow} flow */
async function rotationGone(flow) {
  const connection = await getConnection(flow.connection().id);
  flow.showManage(connection, "No key rotation is pending any more: it was completed or cancelled elsewhere.");
}

/** @param {Flow} flow */
async function complete(flow) {
  const { id } = flow.connection();
  try {
    const completed = await completeKeyRotation(id);
    message(byId("rotated-notice"), COMPLETED);
    byId("cleanup-script").textContent = completed.cleanup_script;
    find(view("rotated"), ".rotated-account", HTMLElement).textContent = completed.connection.config.account_identifier;
    flow.showView("rotated", completed.connection, COMPLETED);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return rotationGone(flow);
    if (!(error instanceof ApiError) || !error.step) throw error;
    const failure = byId("rotate-failure");
    renderFailedStep(failure, error.step, error.step.message ?? error.detail, "complete the rotation again");
    failure.hidden = false;
    announce("Not completed: Snowflake did not accept the new key.");
  }
}

/** @param {Flow} flow */
async function cancel(flow) {
  const connection = flow.connection();
  const slot = shown?.key_slot ?? "";
  try {
    await cancelKeyRotation(connection.id);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return rotationGone(flow);
    throw error;
  }
  flow.showManage(
    connection,
    `Key rotation cancelled; its new key pair is deleted. If you ran its script, remove the unused key: ALTER USER ${quoted(connection.config.user)} UNSET ${slot};`,
  );
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
    setBusy(section, progress, true);
    await flow.guard(() => action(flow), messages);
    setBusy(section, progress, false);
  });
}

/** @param {HTMLElement} section @param {Element | null} progress shown while busy @param {boolean} busy */
function setBusy(section, progress, busy) {
  for (const button of section.querySelectorAll(".actions button")) if (button instanceof HTMLButtonElement) button.disabled = busy;
  if (progress instanceof HTMLElement) progress.hidden = !busy;
  section.setAttribute("aria-busy", String(busy));
}

/** @param {Flow} flow */
export function initRotation(flow) {
  whenClicked(flow, "rotate-button", ".test-error", open);
  whenClicked(flow, "complete-rotation-button", ".rotate-error", complete);
  whenClicked(flow, "cancel-rotation-button", ".rotate-error", cancel);
}
