// The connection form's fields, checked as the person types with the spec's own patterns (which the server puts
// into the page), and the field a 400 problem names shown at that field.

/** @import { NameField } from "./types.js" */
import { find, meta } from "./page.js";

/** @typedef {{ pattern: string, maxLength: number, default?: string }} Rule */
/** @type {{ account_identifier: Rule, names: Record<NameField, Rule> }} */
const RULES = JSON.parse(meta("wc-field-rules"));

/** @type {NameField[]} */
export const NAME_FIELDS = ["warehouse", "database", "schema", "role", "user"];
const LABELS = { warehouse: "Warehouse", database: "Database", schema: "Schema", role: "Role", user: "User" };
const PROBLEMS = {
  account_identifier: "Use letters, digits, - and _, in parts separated by dots, starting with a letter (not a URL).",
  name: "Use letters, digits, _ and $, starting with a letter or _.",
};

/** @param {string} name @returns {Rule | undefined} */
function ruleOf(name) {
  return name === "account_identifier" ? RULES.account_identifier : RULES.names[/** @type {NameField} */ (name)];
}

/** @param {HTMLInputElement} input @returns {string | null} what is wrong with its value, for a person */
function problemWith(input) {
  const rule = ruleOf(input.name);
  const value = input.value;
  if (!rule) return null;
  if (!value) return "Required.";
  if (value.length > rule.maxLength) return `At most ${rule.maxLength} characters.`;
  if (!new RegExp(rule.pattern).test(value)) {
    return input.name === "account_identifier" ? PROBLEMS.account_identifier : PROBLEMS.name;
  }
  return null;
}

/** @param {HTMLInputElement} input @param {string | null} text */
export function showFieldError(input, text) {
  const error = find(document, `#${input.id}-error`, HTMLElement);
  error.textContent = text ?? "";
  error.hidden = !text;
  input.setAttribute("aria-invalid", text ? "true" : "false");
}

/** @param {HTMLFormElement} form @param {string} name @returns {HTMLInputElement} */
export function input(form, name) {
  return find(form, `input[name="${name}"]`, HTMLInputElement);
}

/**
 * Adds the five object-name fields to the form's `.name-fields`, each labelled and pre-filled with its default.
 * @param {HTMLFormElement} form
 * @param {string} prefix ids start with it
 */
export function addNameFields(form, prefix) {
  const container = find(form, ".name-fields", HTMLElement);
  for (const name of NAME_FIELDS) {
    const field = document.createElement("div");
    field.className = "field";
    const label = Object.assign(document.createElement("label"), { htmlFor: `${prefix}-${name}`, textContent: LABELS[name] });
    const box = Object.assign(document.createElement("input"), {
      id: `${prefix}-${name}`, name, required: true, autocomplete: "off", spellcheck: false,
      // The default value, so form.reset() brings the defaults back.
      defaultValue: RULES.names[name].default ?? "",
    });
    box.setAttribute("aria-describedby", `${prefix}-${name}-error`);
    const error = Object.assign(document.createElement("p"), { id: `${prefix}-${name}-error`, className: "field-error", hidden: true });
    field.append(label, box, error);
    container.append(field);
  }
}

/** Checks each field as it changes; a field becomes wrong only once the person has typed in it. @param {HTMLFormElement} form */
export function checkAsTyped(form) {
  form.addEventListener("input", (event) => {
    if (event.target instanceof HTMLInputElement) showFieldError(event.target, problemWith(event.target));
  });
}

/** @param {HTMLFormElement} form @returns {boolean} every field fine; else the first wrong one has focus */
export function checkAll(form) {
  const wrong = [];
  for (const box of form.querySelectorAll("input")) {
    const problem = problemWith(box);
    showFieldError(box, problem);
    if (problem) wrong.push(box);
  }
  const first = wrong[0];
  if (first) {
    const disclosure = first.closest("details");
    if (disclosure) disclosure.open = true;
    first.focus();
  }
  return !first;
}

/**
 * The field a 400 problem's detail names ("'warehouse' does not match …", "… - 'user'"), if the form has it.
 * @param {HTMLFormElement} form
 * @param {string} detail
 * @returns {HTMLInputElement | null}
 */
export function fieldOfProblem(form, detail) {
  const named = /^'([a-z_]+)'/.exec(detail) ?? / - '([a-z_]+)'$/.exec(detail);
  const box = named ? form.querySelector(`input[name="${named[1]}"]`) : null;
  return box instanceof HTMLInputElement ? box : null;
}

/** @param {HTMLFormElement} form @returns {Record<NameField, string>} */
export function nameValues(form) {
  const entries = NAME_FIELDS.map((name) => /** @type {const} */ ([name, input(form, name).value]));
  return /** @type {Record<NameField, string>} */ (Object.fromEntries(entries));
}
