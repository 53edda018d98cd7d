// Testing the connection: the button busy while it runs, then manage on success, or the failure view with the
// failed step's hint and Snowflake's raw error prominent and every step's status listed.

/** @import { ConnectionTestFailed, ConnectionTestStep, Flow } from "./types.js" */
import { getConnection, testConnection } from "./api.js";
import { announce, find, message, view } from "./page.js";

/** @type {Record<ConnectionTestStep["name"], string>} */
const STEP_LABELS = {
  check_host: "Check where the host points",
  reach_host: "Reach the account's host",
  log_in: "Log in with the key pair",
  use_warehouse: "Use the warehouse, database and schema",
  read_stage: "Read the stage",
  write_stage: "Write to the stage",
  run_query: "Run a query",
  schema_privileges: "Check the schema's privileges",
  create_table: "Create a table",
  check_key_slot: "Find the new key where the rotation puts it",
};
/** @type {Record<ConnectionTestStep["status"], { mark: string, word: string }>} */
const STEP_STATUSES = {
  passed: { mark: "✓", word: "Passed" },
  failed: { mark: "✕", word: "Failed" },
  skipped: { mark: "–", word: "Not run" },
};

/** @param {HTMLElement} section @param {boolean} running */
function setRunning(section, running) {
  const button = find(section, ".test-button", HTMLButtonElement);
  button.disabled = running;
  find(section, ".progress", HTMLElement).hidden = !running;
  section.setAttribute("aria-busy", String(running));
}

/**
 * Runs the test from the view the button is in; its messages (a 503's when to retry) show there.
 * @param {Flow} flow
 * @param {HTMLElement} section
 */
export async function runTest(flow, section) {
  const messages = find(section, ".test-error", HTMLElement);
  message(messages, null);
  setRunning(section, true);
  announce("Testing the connection…");
  await flow.guard(async () => {
    const { id } = flow.connection();
    const result = await testConnection(id);
    const connection = await getConnection(id);
    if (result.success) return flow.showManage(connection, "Connected: every step of the test passed.");
    flow.showFailure(result);
  }, messages);
  setRunning(section, false);
}

/** @param {ConnectionTestStep} step @returns {HTMLLIElement} */
function stepItem(step) {
  const { mark, word } = STEP_STATUSES[step.status];
  const item = document.createElement("li");
  item.className = `step step-${step.status}`;
  const symbol = Object.assign(document.createElement("span"), { className: "mark", textContent: mark });
  symbol.setAttribute("aria-hidden", "true");
  const timing = step.duration_ms === null ? "" : ` (${step.duration_ms} ms)`;
  const text = Object.assign(document.createElement("span"), { textContent: `${STEP_LABELS[step.name]}: ${word}${timing}` });
  item.append(symbol, text);
  return item;
}

/**
 * Fills a `.failure` block: which step failed and why, its hint, and the warehouse's own error.
 * @param {HTMLElement} block
 * @param {ConnectionTestStep | undefined} failed
 * @param {string} rawError
 * @param {string} again what the person would do again, e.g. "test again"
 */
export function renderFailedStep(block, failed, rawError, again) {
  const retry = failed?.retryable ? ` This may pass if you ${again} later, unchanged.` : "";
  find(block, ".failed-step", HTMLElement).textContent = failed
    ? `Failed at: ${STEP_LABELS[failed.name]} (${failed.code ?? "unexpected"}).${retry}`
    : "The test failed.";
  find(block, ".hint", HTMLElement).textContent = failed?.hint ?? "";
  find(block, ".raw-error", HTMLElement).textContent = rawError;
}

/** @param {ConnectionTestFailed} result */
export function renderFailure(result) {
  const section = view("test");
  const failed = result.steps.find((step) => step.status === "failed");
  renderFailedStep(find(section, ".failure", HTMLElement), failed, result.error, "test again");
  find(section, ".steps", HTMLOListElement).replaceChildren(...result.steps.map(stepItem));
}
