// The manage view (status, account and names, when last tested), its Edit form and its Disconnect dialog.

/** @import { Flow, NameField, WarehouseConnection } from "./types.js" */
import { ApiError, deleteConnection, patchConnection } from "./api.js";
import { addNameFields, checkAll, checkAsTyped, fieldOfProblem, input, NAME_FIELDS, nameValues, showFieldError } from "./fields.js";
import { announce, byId, find, message, show, view } from "./page.js";

/** @type {Record<WarehouseConnection["status"], { mark: string, word: string }>} */
const STATUSES = {
  connected: { mark: "✓", word: "Connected" },
  error: { mark: "!", word: "Failing" },
  pending_customer_setup: { mark: "…", word: "Waiting for setup" },
};
const UNITS = /** @type {const} */ ([["day", 86400], ["hour", 3600], ["minute", 60], ["second", 1]]);
const relative = new Intl.RelativeTimeFormat("en", { numeric: "auto" });

// Under this, "just now": a count of seconds would be out of date before it is read.
const JUST_NOW_SECONDS = 45;

/** @param {Date} when @param {Date} now @returns {string} e.g. "5 minutes ago" */
export function ago(when, now) {
  const seconds = Math.round((when.getTime() - now.getTime()) / 1000);
  if (Math.abs(seconds) < JUST_NOW_SECONDS) return "just now";
  const [unit, size] = UNITS.find(([, size]) => Math.abs(seconds) >= size) ?? ["second", 1];
  return relative.format(Math.round(seconds / size), unit);
}

/** @param {string | null} testedAt @returns {Node} */
function lastTested(testedAt) {
  if (!testedAt) return document.createTextNode("Never");
  const when = new Date(testedAt);
  const time = Object.assign(document.createElement("time"), { dateTime: testedAt, textContent: ago(when, new Date()) });
  time.title = when.toLocaleString(undefined, { dateStyle: "long", timeStyle: "long" });
  return time;
}

/** @param {WarehouseConnection} connection keeps "N minutes ago" true while the view stays open */
export function refreshLastTested(connection) {
  byId("manage-last-tested").replaceChildren(lastTested(connection.last_tested_at));
}

/** @param {WarehouseConnection} connection @param {string | undefined} notice */
export function renderManage(connection, notice) {
  const { mark, word } = STATUSES[connection.status];
  const status = byId("manage-status");
  status.className = `status status-${connection.status}`;
  const symbol = Object.assign(document.createElement("span"), { className: "mark", textContent: mark });
  symbol.setAttribute("aria-hidden", "true");
  status.replaceChildren(symbol, document.createTextNode(word));
  byId("manage-account_identifier").textContent = connection.config.account_identifier;
  for (const name of NAME_FIELDS) byId(`manage-${name}`).textContent = connection.config[name];
  refreshLastTested(connection);
  const lastError = byId("manage-last-error");
  lastError.hidden = !connection.last_error;
  find(lastError, "pre", HTMLElement).textContent = connection.last_error ?? "";
  message(byId("manage-notice"), notice);
}

/** @param {WarehouseConnection} connection */
function openEdit(connection) {
  const form = find(view("edit"), "form", HTMLFormElement);
  for (const name of NAME_FIELDS) {
    input(form, name).value = connection.config[name];
    showFieldError(input(form, name), null);
  }
  message(find(form, ".form-error", HTMLElement), null);
  show("edit");
}

/** @param {Flow} flow @param {HTMLFormElement} form */
async function save(flow, form) {
  const connection = flow.connection();
  const values = nameValues(form);
  /** @type {Partial<Record<NameField, string>>} */
  const changed = {};
  for (const name of NAME_FIELDS) if (values[name] !== connection.config[name]) changed[name] = values[name];
  if (Object.keys(changed).length === 0) return message(find(form, ".form-error", HTMLElement), "Nothing changed: edit a name first.");
  try {
    flow.showSetup(await patchConnection(connection.id, changed), "Saved. The setup script changed: run this new one in Snowflake, then test.");
  } catch (error) {
    const field = error instanceof ApiError && error.status === 400 ? fieldOfProblem(form, error.detail) : null;
    if (!field || !(error instanceof ApiError)) throw error;
    showFieldError(field, error.detail);
    field.focus();
  }
}

/** @param {Flow} flow */
function initEdit(flow) {
  const form = find(view("edit"), "form", HTMLFormElement);
  addNameFields(form, "edit");
  checkAsTyped(form);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!checkAll(form)) return announce("Not saved: check the fields marked.");
    const submit = find(form, 'button[type="submit"]', HTMLButtonElement);
    submit.disabled = true;
    await flow.guard(() => save(flow, form), find(form, ".form-error", HTMLElement));
    submit.disabled = false;
  });
}

/** @param {Flow} flow */
function initDisconnect(flow) {
  const dialog = find(document, "#disconnect-dialog", HTMLDialogElement);
  byId("disconnect-button").addEventListener("click", () => {
    for (const name of dialog.querySelectorAll(".disconnect-account")) name.textContent = flow.connection().config.account_identifier;
    dialog.returnValue = "";
    dialog.showModal();
  });
  dialog.addEventListener("close", async () => {
    if (dialog.returnValue !== "confirm") return byId("disconnect-button").focus();
    const { id, config } = flow.connection();
    await flow.guard(async () => {
      await deleteConnection(id);
      flow.showConfigure(`Disconnected ${config.account_identifier}. Its key pair is deleted.`);
    }, find(view("manage"), ".test-error", HTMLElement));
  });
}

/** @param {Flow} flow */
export function initManage(flow) {
  byId("edit-button").addEventListener("click", () => openEdit(flow.connection()));
  initEdit(flow);
  initDisconnect(flow);
}
