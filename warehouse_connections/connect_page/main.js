// The flow: sign-in, then the list call decides the view; every API action runs through guard(), where a 401
// brings the sign-in back (the view behind it keeps what was typed) and a 403 makes the page read-only.

/** @import { ConnectionTestFailed, Flow, WarehouseConnection } from "./types.js" */
import { ApiError, listConnections, mayWrite } from "./api.js";
import { initConfigure, showConfigure as renderConfigure } from "./configure.js";
import { initManage, refreshLastTested, renderManage } from "./manage.js";
import { announce, byId, currentView, find, message, meta, show, view } from "./page.js";
import * as session from "./session.js";
import { initRotation } from "./rotation.js";
import { initCopyButtons, renderSetup } from "./setup.js";
import { renderFailure, runTest } from "./testing.js";

const READ_ONLY_LINE =
  "You have read-only access: you can see this connection, but only an admin (or a full API key) can create, test, edit or disconnect it, or rotate its key.";
const REFRESH_TIMES_EVERY_MS = 30_000;

/** @type {WarehouseConnection | null} */
let connection = null;
let readOnly = false;
/** @type {string | null} the view a 401 interrupted, shown again as it was once signed in */
let interrupted = null;

function applyReadOnly() {
  for (const control of document.querySelectorAll(".write")) if (control instanceof HTMLElement) control.hidden = readOnly;
  for (const note of document.querySelectorAll(".readonly-note")) if (note instanceof HTMLElement) message(note, readOnly ? READ_ONLY_LINE : null);
}

/** @param {string} name @param {string | undefined} notice */
function showView(name, notice) {
  byId("sign-out").hidden = false;
  applyReadOnly();
  show(name);
  if (notice) announce(notice);
}

/** @type {Flow} */
const flow = {
  connection() {
    if (!connection) throw new Error("No connection is on screen.");
    return connection;
  },
  showSetup(shown, notice) {
    connection = shown;
    renderSetup(shown, notice).then(() => showView("setup", notice));
  },
  showManage(shown, notice) {
    connection = shown;
    renderManage(shown, notice);
    showView("manage", notice);
  },
  showConfigure(notice) {
    connection = null;
    renderConfigure(notice);
    showView("configure", notice);
  },
  showFailure(result) {
    renderFailure(/** @type {ConnectionTestFailed} */ (result));
    showView("test", "The connection test failed.");
  },
  showView(name, shown, notice) {
    connection = shown;
    showView(name, notice);
  },
  guard,
  readOnly: () => readOnly,
};

/** @param {number} seconds a Retry-After @returns {string} the clock time it ends, which the detail may not say */
function retryAt(seconds) {
  return ` Retry at ${new Date(Date.now() + seconds * 1000).toLocaleTimeString()}.`;
}

/** @type {Flow["guard"]} */
async function guard(action, messages) {
  try {
    await action();
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (error.status === 401) return signInAgain(error.detail);
    if (error.status === 403) {
      readOnly = true;
      applyReadOnly();
    }
    if (error.status === 404) return load("That connection no longer exists.");
    const text = error.detail + (error.retryAfter === null ? "" : retryAt(error.retryAfter));
    message(messages, text);
    announce(text);
  }
}

/** @param {WarehouseConnection} shown @param {string} [notice] */
function showConnection(shown, notice) {
  if (shown.status === "pending_customer_setup") return flow.showSetup(shown, notice);
  flow.showManage(shown, notice);
}

/** The list call decides the view; a probe (which writes nothing) whether write buttons show. @param {string} [notice] */
async function load(notice) {
  try {
    const [existing] = await listConnections();
    readOnly = !(await mayWrite());
    if (existing) showConnection(existing, notice);
    else flow.showConfigure(notice);
  } catch (error) {
    if (!(error instanceof ApiError) || ![401, 403].includes(error.status)) throw error;
    showSignIn(error.detail);
  }
}

/** @param {string} [reason] shown above the form */
function showSignIn(reason) {
  message(byId("signin-reason"), reason);
  const organisation = find(view("signin"), "#signin-organisation", HTMLInputElement);
  organisation.value ||= String(session.credentials()?.organisation ?? new URLSearchParams(location.search).get("organisation") ?? "");
  byId("sign-out").hidden = true;
  show("signin");
  if (reason) announce(reason);
}

/** @param {string} detail */
function signInAgain(detail) {
  interrupted = currentView();
  showSignIn(`Signed out: ${detail} Sign in again to carry on where you were.`);
}

/** After a sign-in: back to the view a 401 interrupted, as it was, or else a fresh load. */
async function resume() {
  const view = interrupted;
  interrupted = null;
  if (!view || view === "signin") return load();
  try {
    readOnly = !(await mayWrite());
    showView(view, undefined);
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) throw error;
    signInAgain(error.detail);
  }
}

function initSignIn() {
  const form = find(view("signin"), "form", HTMLFormElement);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const organisation = find(form, "#signin-organisation", HTMLInputElement);
    const key = find(form, "#signin-key", HTMLInputElement);
    const id = session.organisationId(organisation.value);
    message(byId("signin-organisation-error"), id === null ? "Enter the organisation's number, like 1." : null);
    message(byId("signin-key-error"), key.value.trim() ? null : "Enter an API key.");
    organisation.setAttribute("aria-invalid", String(id === null));
    key.setAttribute("aria-invalid", String(!key.value.trim()));
    if (id === null) return organisation.focus();
    if (!key.value.trim()) return key.focus();
    session.signInWithApiKey(id, key.value.trim());
    key.value = "";
    resume();
  });
  byId("sign-out").addEventListener("click", () => {
    session.signOut();
    connection = null;
    interrupted = null;
    showSignIn("Signed out.");
  });
}

/** @param {string} token @param {number | null} organisation */
function acceptToken(token, organisation) {
  if (organisation === null) return showSignIn("The platform's sign-in names no single organisation: sign in with an API key.");
  session.signInWithToken(organisation, token);
  resume();
}

function initNavigation() {
  for (const name of ["setup", "test", "manage"]) {
    const section = view(name);
    for (const button of section.querySelectorAll(".test-button")) button.addEventListener("click", () => runTest(flow, section));
  }
  for (const button of document.querySelectorAll(".to-setup")) button.addEventListener("click", () => flow.showSetup(flow.connection()));
  for (const button of document.querySelectorAll(".to-manage")) button.addEventListener("click", () => flow.showManage(flow.connection()));
  window.setInterval(() => {
    if (connection && currentView() === "manage") refreshLastTested(connection);
  }, REFRESH_TIMES_EVERY_MS);
}

function start() {
  initSignIn();
  initConfigure(flow);
  initCopyButtons();
  initManage(flow);
  initRotation(flow);
  initNavigation();
  const handed = session.takeTokenFromFragment();
  session.listenForToken(meta("wc-embedding-origins").split(" ").filter(Boolean), acceptToken);
  if (handed) acceptToken(handed.token, handed.organisation);
  else if (session.restoreApiKey()) load();
  else showSignIn();
}

start();
