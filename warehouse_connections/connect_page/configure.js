// The configure view: the account identifier and, under "Advanced", the object names; Create connection.

/** @import { Flow } from "./types.js" */
import { ApiError, createConnection, listConnections } from "./api.js";
import { addNameFields, checkAll, checkAsTyped, fieldOfProblem, input, nameValues, showFieldError } from "./fields.js";
import { announce, find, message, view } from "./page.js";

/** @param {HTMLFormElement} form @param {string} detail a 400 problem's: at its field, else under the form */
function showProblem(form, detail) {
  const field = fieldOfProblem(form, detail);
  if (!field) return message(find(form, ".form-error", HTMLElement), detail);
  const disclosure = field.closest("details");
  if (disclosure) disclosure.open = true;
  showFieldError(field, detail);
  field.focus();
  announce(`Not created: ${detail}`);
}

/** @param {Flow} flow @param {HTMLFormElement} form */
async function create(flow, form) {
  try {
    const body = { type: /** @type {const} */ ("snowflake"), account_identifier: input(form, "account_identifier").value, ...nameValues(form) };
    flow.showSetup(await createConnection(body), "Connection created. Next, run this script in Snowflake.");
  } catch (error) {
    if (error instanceof ApiError && error.status === 400) return showProblem(form, error.detail);
    const [existing] = error instanceof ApiError && error.status === 409 ? await listConnections() : [];
    if (!existing) throw error;
    flow.showManage(existing, "This organisation already has a connection, made meanwhile (perhaps by someone else). Here it is.");
  }
}

/** @param {Flow} flow */
export function initConfigure(flow) {
  const form = find(view("configure"), "form", HTMLFormElement);
  addNameFields(form, "configure");
  checkAsTyped(form);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const formError = find(form, ".form-error", HTMLElement);
    message(formError, null);
    if (!checkAll(form)) return announce("Not created: check the fields marked.");
    const submit = find(form, 'button[type="submit"]', HTMLButtonElement);
    submit.disabled = true;
    await flow.guard(() => create(flow, form), formError);
    submit.disabled = false;
  });
}

/** @param {string | undefined} notice */
export function showConfigure(notice) {
  const section = view("configure");
  const form = find(section, "form", HTMLFormElement);
  form.reset();
  for (const box of form.querySelectorAll("input")) showFieldError(box, null);
  message(find(section, "#configure-notice", HTMLElement), notice);
}
