// The page's types: the API's from the spec (openapi-typescript's schema.d.ts, mapped to "wc-api" by the
// type-check's tsconfig), and the page's own. Only tsc reads this module; the browser never loads it.

/** @import { components, paths } from "wc-api" */

// The page connects Snowflake: a connection of another type is told apart where the API answers (api.js).
/** @typedef {components["schemas"]["SnowflakeConnection"]} WarehouseConnection */
/** @typedef {components["schemas"]["ConnectionTestResult"]} ConnectionTestResult */
/** @typedef {components["schemas"]["ConnectionTestFailed"]} ConnectionTestFailed */
/** @typedef {components["schemas"]["ConnectionTestStep"]} ConnectionTestStep */
/** @typedef {components["schemas"]["KeyCheckProblem"]} KeyCheckProblem */
/** @typedef {components["schemas"]["KeyRotation"]} KeyRotation */
/** @typedef {components["schemas"]["KeyRotationCompleted"]} KeyRotationCompleted */
/** @typedef {paths} ApiPaths */

/** @typedef {"warehouse" | "database" | "schema" | "role" | "user"} NameField */

/**
 * What the views ask of the flow that owns them (main.js).
 * @typedef {object} Flow
 * @property {() => WarehouseConnection} connection the connection on screen
 * @property {(connection: WarehouseConnection, notice?: string) => void} showSetup
 * @property {(connection: WarehouseConnection, notice?: string) => void} showManage
 * @property {(notice?: string) => void} showConfigure
 * @property {(result: ConnectionTestFailed) => void} showFailure
 * @property {(name: "rotate" | "rotated", connection: WarehouseConnection, notice?: string) => void} showView a
 *   view its module has rendered, for this connection
 * @property {(action: () => Promise<void>, messages: HTMLElement) => Promise<void>} guard runs an API action;
 *   a 401 brings the sign-in back, a 403 makes the page read-only, anything else shows in `messages`
 * @property {() => boolean} readOnly
 */

export {};
