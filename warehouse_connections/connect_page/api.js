// The API calls the page makes, typed by the spec: a path or body the spec does not have fails the type-check.

/** @import { ApiPaths, ConnectionTestStep, KeyCheckProblem, KeyRotation, KeyRotationCompleted, WarehouseConnection } from "./types.js" */
import { credentials } from "./session.js";

const API_ROOT = "/api/v1";
const COLLECTION = /** @satisfies {keyof ApiPaths} */ ("/organisations/{organisation_pk}/integrations/warehouse-connections/");
const ITEM = /** @satisfies {keyof ApiPaths} */ ("/organisations/{organisation_pk}/integrations/warehouse-connections/{id}/");
const TEST = /** @satisfies {keyof ApiPaths} */ ("/organisations/{organisation_pk}/integrations/warehouse-connections/{id}/test/");
const ROTATION = /** @satisfies {keyof ApiPaths} */ ("/organisations/{organisation_pk}/integrations/warehouse-connections/{id}/key-rotation/");
const COMPLETE = /** @satisfies {keyof ApiPaths} */ ("/organisations/{organisation_pk}/integrations/warehouse-connections/{id}/key-rotation/complete/");

/** @typedef {ApiPaths[typeof COLLECTION]["get"]["responses"][200]["content"]["application/json"]} ConnectionList */
/** @typedef {ApiPaths[typeof COLLECTION]["post"]["requestBody"]["content"]["application/json"]} CreateBody */
/** @typedef {ApiPaths[typeof COLLECTION]["post"]["responses"][201]["content"]["application/json"]} Created */
/** @typedef {ApiPaths[typeof ITEM]["get"]["responses"][200]["content"]["application/json"]} Detail */
/** @typedef {NonNullable<ApiPaths[typeof ITEM]["patch"]["requestBody"]>["content"]["application/json"]} PatchBody */
/** @typedef {ApiPaths[typeof ITEM]["patch"]["responses"][200]["content"]["application/json"]} Patched */
/** @typedef {ApiPaths[typeof TEST]["post"]["responses"][200]["content"]["application/json"]} TestResult */
/** @typedef {ApiPaths[typeof ROTATION]["post"]["responses"][201]["content"]["application/json"]} Started */
/** @typedef {ApiPaths[typeof ROTATION]["get"]["responses"][200]["content"]["application/json"]} Pending */
/** @typedef {ApiPaths[typeof COMPLETE]["post"]["responses"][200]["content"]["application/json"]} Completed */

/** An answer other than 2xx, or no answer: `detail` is the problem's, for a person. */
export class ApiError extends Error {
  /**
   * @param {number} status 0 when the service could not be reached
   * @param {string} detail
   * @param {number | null} retryAfter
   * @param {ConnectionTestStep | null} [step] the failed step of a refused key rotation
   */
  constructor(status, detail, retryAfter, step = null) {
    super(detail);
    this.status = status;
    this.detail = detail;
    this.retryAfter = retryAfter;
    this.step = step;
  }
}

/** @param {string} template @param {string} [id] */
function url(template, id) {
  const signedIn = credentials();
  if (!signedIn) throw new ApiError(401, "Sign in first.", null);
  const path = template.replace("{organisation_pk}", String(signedIn.organisation)).replace("{id}", encodeURIComponent(id ?? ""));
  return API_ROOT + path;
}

/** @param {Response} response @returns {Promise<ApiError>} */
async function problemOf(response) {
  /** @type {Partial<KeyCheckProblem> | null} */
  const problem = await response.json().catch(() => null);
  const retryAfter = Number.parseInt(response.headers.get("Retry-After") ?? "", 10);
  const detail = typeof problem?.detail === "string" ? problem.detail : `The service answered ${response.status}.`;
  return new ApiError(response.status, detail, Number.isNaN(retryAfter) ? null : retryAfter, problem?.step ?? null);
}

/**
 * @param {"GET" | "POST" | "PATCH" | "DELETE"} method
 * @param {string} address
 * @param {object} [body]
 * @returns {Promise<unknown>}
 */
async function call(method, address, body) {
  const signedIn = credentials();
  /** @type {Record<string, string>} */
  const headers = { Accept: "application/json, application/problem+json" };
  if (signedIn) headers.Authorization = `${signedIn.scheme} ${signedIn.credential}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  /** @type {Response} */
  let response;
  try {
    const init = { method, headers, cache: /** @type {const} */ ("no-store"), credentials: /** @type {const} */ ("omit") };
    response = await fetch(address, body === undefined ? init : { ...init, body: JSON.stringify(body) });
  } catch {
    throw new ApiError(0, "The service cannot be reached. Check your network, then try again.", null);
  }
  if (!response.ok) throw await problemOf(response);
  return response.status === 204 ? null : response.json();
}

/**
 * The page connects Snowflake: a connection of another type (made through the API) is a problem it names, not a
 * page half drawn.
 * @param {Detail} connection
 * @returns {WarehouseConnection}
 */
function snowflakeOnly(connection) {
  if (connection.type !== "snowflake") {
    throw new ApiError(409, `This organisation's warehouse connection is ${connection.type}: this page manages Snowflake connections; use the API.`, null);
  }
  return connection;
}

/** @returns {Promise<WarehouseConnection[]>} */
export async function listConnections() {
  return /** @type {ConnectionList} */ (await call("GET", url(COLLECTION))).map(snowflakeOnly);
}

/** @param {CreateBody} body @returns {Promise<WarehouseConnection>} */
export async function createConnection(body) {
  return snowflakeOnly(/** @type {Created} */ (await call("POST", url(COLLECTION), body)));
}

/** @param {string} id @returns {Promise<WarehouseConnection>} */
export async function getConnection(id) {
  return snowflakeOnly(/** @type {Detail} */ (await call("GET", url(ITEM, id))));
}

/** @param {string} id @param {PatchBody} body @returns {Promise<WarehouseConnection>} */
export async function patchConnection(id, body) {
  return snowflakeOnly(/** @type {Patched} */ (await call("PATCH", url(ITEM, id), body)));
}

/** @param {string} id @returns {Promise<TestResult>} */
export async function testConnection(id) {
  return /** @type {TestResult} */ (await call("POST", url(TEST, id), {}));
}

/** @param {string} id */
export async function deleteConnection(id) {
  await call("DELETE", url(ITEM, id));
}

/** @param {string} id @returns {Promise<KeyRotation>} a new key pair, pending */
export async function startKeyRotation(id) {
  return /** @type {Started} */ (await call("POST", url(ROTATION, id)));
}

/** @param {string} id @returns {Promise<KeyRotation | null>} null when none is pending (or the connection is gone) */
export async function getKeyRotation(id) {
  try {
    return /** @type {Pending} */ (await call("GET", url(ROTATION, id)));
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

/** @param {string} id @returns {Promise<KeyRotationCompleted>} */
export async function completeKeyRotation(id) {
  const completed = /** @type {Completed} */ (await call("POST", url(COMPLETE, id)));
  return { ...completed, connection: snowflakeOnly(completed.connection) };
}

/** @param {string} id */
export async function cancelKeyRotation(id) {
  await call("DELETE", url(ROTATION, id));
}

/**
 * Whether the caller may write, without writing: a create the spec rejects (an empty body) is refused 403 to a
 * read-only caller before it is validated, and 400 to one who may write. Nothing is created either way.
 * @returns {Promise<boolean>}
 */
export async function mayWrite() {
  try {
    await call("POST", url(COLLECTION), {});
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) return false;
    if (error instanceof ApiError && error.status === 400) return true;
    throw error;
  }
  throw new ApiError(500, "The service accepted an empty connection.", null);
}
