// The whole life of a connection through openapi-fetch, typed by openapi-typescript's `schema.d.ts`
// (generated from openapi/warehouse-connections.yaml next to this file at test time).
//
// Environment:
//   WC_BASE_URL              the API root, e.g. http://127.0.0.1:8000/api/v1
//   WC_API_KEY               a full API key of the organisation
//   WC_ADMIN_TOKEN           a bearer token (JWT) whose role in the organisation is admin
//   WC_USER_TOKEN            one whose role there is user (reads only)
//   WC_ORGANISATION_ID       that organisation's id
//   WC_EMULATOR_SETUP_URL    where to tell the Snowflake emulator that the setup script ran
//                            (POST {account_identifier, user, public_key, database, schema})
// Exits 0 after the last step; any unexpected answer throws, and node exits non-zero.
import assert from "node:assert/strict";
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

// A union by `type`; this flow makes a Snowflake connection, and narrows each answer to it.
type WarehouseConnection = components["schemas"]["SnowflakeConnection"];
type ConnectionTestResult = components["schemas"]["ConnectionTestResult"];
// The two outcomes, named after the spec's schemas: a failed one always has its error.
type ConnectionTestPassed = components["schemas"]["ConnectionTestPassed"];
type ConnectionTestFailed = components["schemas"]["ConnectionTestFailed"];
type ConnectionTestRecord = components["schemas"]["ConnectionTestRecord"];
type Problem = components["schemas"]["Problem"];

function env(name: string): string {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is not set`);
    return value;
}

const baseUrl = env("WC_BASE_URL");
const apiKey = env("WC_API_KEY");
const adminToken = env("WC_ADMIN_TOKEN");
const userToken = env("WC_USER_TOKEN");
const organisation_pk = Number(env("WC_ORGANISATION_ID"));
const emulatorSetupUrl = env("WC_EMULATOR_SETUP_URL");

// `redirect: "error"`: a path the server has to redirect (one without its trailing slash) fails here.
const client = createClient<paths>({ baseUrl, redirect: "error", headers: { Authorization: `Api-Key ${apiKey}` } });

const LIST = "/organisations/{organisation_pk}/integrations/warehouse-connections/";
const DETAIL = "/organisations/{organisation_pk}/integrations/warehouse-connections/{id}/";
const TEST = "/organisations/{organisation_pk}/integrations/warehouse-connections/{id}/test/";
const HISTORY = "/organisations/{organisation_pk}/integrations/warehouse-connections/{id}/tests/";
const STEP_NAMES = ["reach_host", "log_in", "use_warehouse", "read_stage", "write_stage", "create_table"];
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

function step(name: string): void {
    console.log(`step: ${name}`);
}

function assertProblem(error: Problem | undefined, status: number, title: string, detail: string): void {
    assert.deepEqual(error, { type: "about:blank", title, status, detail });
}

step("list, empty");
{
    const { data, response } = await client.GET(LIST, { params: { path: { organisation_pk } } });
    assert.equal(response.status, 200);
    assert.deepEqual(data, []);
}

step("create");
const created: WarehouseConnection = await (async () => {
    const { data, error, response } = await client.POST(LIST, {
        params: { path: { organisation_pk } },
        body: { type: "snowflake", account_identifier: "xy12345.us-east-1" },
    });
    assert.equal(response.status, 201, JSON.stringify(error));
    assert.ok(data && data.type === "snowflake");
    assert.match(data.id, /^wc_[a-z0-9]{16,}$/);
    assert.equal(
        response.headers.get("Location"),
        `/api/v1/organisations/${organisation_pk}/integrations/warehouse-connections/${data.id}/`,
    );
    assert.equal(data.type, "snowflake");
    assert.equal(data.status, "pending_customer_setup");
    assert.deepEqual(data.config, {
        account_identifier: "xy12345.us-east-1",
        warehouse: "COMPUTE_WH",
        database: "FLAGSMITH",
        schema: "ANALYTICS",
        role: "FLAGSMITH_LOADER",
        user: "FLAGSMITH_SERVICE",
    });
    assert.match(data.created_at, TIMESTAMP);
    assert.equal(data.last_tested_at, null);
    assert.equal(data.last_error, null);
    return data;
})();
const path = { organisation_pk, id: created.id };

step("list, one");
{
    const { data, response } = await client.GET(LIST, { params: { path: { organisation_pk } } });
    assert.equal(response.status, 200);
    assert.deepEqual(data, [created]);
}

step("get");
{
    const { data, response } = await client.GET(DETAIL, { params: { path } });
    assert.equal(response.status, 200);
    assert.deepEqual(data, created);
}

step("update (PUT)");
{
    const { data, error, response } = await client.PUT(DETAIL, {
        params: { path },
        body: { type: "snowflake", account_identifier: "xy12345.us-east-1", warehouse: "LOAD_WH" },
    });
    assert.equal(response.status, 200, JSON.stringify(error));
    assert.ok(data);
    assert.deepEqual({ ...data, setup_script: "" }, {
        ...created,
        setup_script: "",
        config: { ...created.config, warehouse: "LOAD_WH" },
    });
    assert.ok(data.setup_script.includes("LOAD_WH"));
}

step("update (PATCH)");
const updated: WarehouseConnection = await (async () => {
    const { data, error, response } = await client.PATCH(DETAIL, { params: { path }, body: { role: "LOAD_ROLE" } });
    assert.equal(response.status, 200, JSON.stringify(error));
    assert.ok(data && data.type === "snowflake");
    assert.deepEqual(data.config, { ...created.config, warehouse: "LOAD_WH", role: "LOAD_ROLE" });
    assert.equal(data.status, "pending_customer_setup");
    assert.equal(data.public_key, created.public_key);
    return data;
})();

step("run the setup script (emulator)");
{
    const { account_identifier, user, database, schema } = updated.config;
    const response = await fetch(emulatorSetupUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ account_identifier, user, database, schema, public_key: updated.public_key }),
    });
    assert.equal(response.status, 204);
}

step("test");
const result: ConnectionTestResult = await (async () => {
    const { data, error, response } = await client.POST(TEST, {
        params: { path, header: { "X-Request-ID": "ts.test-1" } },
        body: {},
    });
    assert.equal(response.status, 200, JSON.stringify(error));
    assert.equal(response.headers.get("X-Request-ID"), "ts.test-1");
    assert.ok(data);
    const passed: ConnectionTestPassed | undefined = data.success ? data : undefined;
    const failed: ConnectionTestFailed | undefined = data.success ? undefined : data;
    assert.equal(failed?.error, undefined);
    assert.deepEqual(passed, { success: true, tested_at: data.tested_at, steps: data.steps });
    assert.match(data.tested_at, TIMESTAMP);
    assert.deepEqual(
        data.steps.map((s) => [s.name, s.status, s.code]),
        STEP_NAMES.map((name) => [name, "passed", null]),
    );
    return data;
})();

step("test history");
{
    const { data, response } = await client.GET(HISTORY, { params: { path } });
    assert.equal(response.status, 200);
    const history: ConnectionTestRecord[] | undefined = data;
    assert.deepEqual(history, [{ tested_by: apiKey.slice(0, 12), result }]);
}

step("get, connected");
{
    const { data, response } = await client.GET(DETAIL, { params: { path } });
    assert.equal(response.status, 200);
    assert.deepEqual(data, { ...updated, status: "connected", last_tested_at: result.tested_at, last_error: null });
}

step("delete");
{
    const { data, error, response } = await client.DELETE(DETAIL, { params: { path } });
    assert.equal(response.status, 204, JSON.stringify(error));
    assert.equal(data, undefined);
}

step("get, deleted: 404");
{
    const { data, error, response } = await client.GET(DETAIL, { params: { path } });
    assert.equal(response.status, 404);
    assert.equal(response.headers.get("Content-Type"), "application/problem+json");
    assert.equal(data, undefined);
    assertProblem(error, 404, "Not Found", `No warehouse connection '${created.id}' in organisation ${organisation_pk}.`);
}

step("list without a key: 401");
{
    const anonymous = createClient<paths>({ baseUrl, redirect: "error" });
    const { data, error, response } = await anonymous.GET(LIST, { params: { path: { organisation_pk } } });
    assert.equal(response.status, 401);
    assert.equal(data, undefined);
    assertProblem(error, 401, "Unauthorized", "No authorization token provided");
}

step("list with an unknown key: 401");
{
    const stranger = createClient<paths>({
        baseUrl,
        redirect: "error",
        headers: { Authorization: "Api-Key wck_0000000000000000000000000000000000000000000" },
    });
    const { data, error, response } = await stranger.GET(LIST, { params: { path: { organisation_pk } } });
    assert.equal(response.status, 401);
    assert.equal(data, undefined);
    assertProblem(error, 401, "Unauthorized", "The API key is unknown or revoked.");
}

function bearerClient(token: string) {
    return createClient<paths>({ baseUrl, redirect: "error", headers: { Authorization: `Bearer ${token}` } });
}

step("list with an admin's bearer token");
{
    const { data, response } = await bearerClient(adminToken).GET(LIST, { params: { path: { organisation_pk } } });
    assert.equal(response.status, 200);
    assert.deepEqual(data, []);
}

step("create with a user's bearer token: 403");
{
    const { data, error, response } = await bearerClient(userToken).POST(LIST, {
        params: { path: { organisation_pk } },
        body: { type: "snowflake", account_identifier: "xy12345.us-east-1" },
    });
    assert.equal(response.status, 403);
    assert.equal(data, undefined);
    assertProblem(
        error,
        403,
        "Forbidden",
        `This token's role in organisation ${organisation_pk} is 'user', which may only read.`,
    );
}

step("list with a junk bearer token: 401, and why");
{
    const { error, response } = await bearerClient("junk").GET(LIST, { params: { path: { organisation_pk } } });
    assert.equal(response.status, 401);
    assertProblem(error, 401, "Unauthorized", "The token is not a well-formed JWT.");
    assert.equal(
        response.headers.get("WWW-Authenticate"),
        'Bearer error="invalid_token", error_description="The token is not a well-formed JWT."',
    );
}

console.log("flow: ok");
