// Calls the generated types must reject. Each line marked `// error: TSnnnn` must fail with exactly
// that code, and no other line may fail (tests/clients/test_openapi_typescript.py checks both).
import createClient from "openapi-fetch";
import type { paths } from "./schema.js";

const client = createClient<paths>({ baseUrl: "http://127.0.0.1:1/api/v1" });
const path = { organisation_pk: 1 };

// The path without its trailing slash is not in the spec (the server would answer 307).
await client.GET("/organisations/{organisation_pk}/integrations/warehouse-connections", { params: { path } }); // error: TS2345

// A warehouse type the spec does not have.
await client.POST("/organisations/{organisation_pk}/integrations/warehouse-connections/", {
    params: { path },
    body: { type: "bigquery", account_identifier: "xy12345.us-east-1" }, // error: TS2322
});
