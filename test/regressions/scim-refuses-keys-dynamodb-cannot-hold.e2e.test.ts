/**
 * A SCIM request that names a key DynamoDB cannot hold (an id over its 1,024-byte sort key, a
 * userName over its partition key) can never succeed: it is answered 400, or 404 for an id in the
 * path, never 503 "retrying is safe".
 */
import { afterEach, describe, expect, it } from "vitest";
import { startPipeline, type TestPipeline } from "../../local/pipeline.js";
import { entraUser, SCIM_TOKEN, scimClient } from "../support/scim.js";

let pipeline: TestPipeline;

afterEach(async () => {
  await pipeline.stop();
});

const filter = (text: string) => `/Users?filter=${encodeURIComponent(text)}`;

describe("a key longer than DynamoDB holds", () => {
  it("is refused on create, in a filter and by id, and the endpoint goes on answering", async () => {
    // Prepare
    pipeline = await startPipeline({ scim: { tokens: [SCIM_TOKEN] } });
    const scim = scimClient(pipeline.scimUrl ?? "");
    const longName = `${"a".repeat(3_000)}@example.com`;
    const longId = "b".repeat(1_500);

    // Act
    const created = await scim.call(
      "POST",
      "/Users",
      entraUser(longName, { emails: [{ value: "ok@example.com", primary: true }] }),
    );
    const byName = await scim.call("GET", filter(`userName eq "${longName}"`));
    const byIdFilter = await scim.call("GET", filter(`id eq "${longId}"`));
    const got = await scim.call("GET", `/Users/${longId}`);
    const patched = await scim.call("PATCH", `/Groups/${longId}`, {
      Operations: [{ op: "remove", path: "members" }],
    });
    const fine = await scim.call("POST", "/Users", entraUser("fine@example.com"));

    // Assess
    expect([created.status, byName.status, byIdFilter.status]).toEqual([400, 400, 400]);
    expect([got.status, patched.status]).toEqual([404, 404]);
    expect(fine.status).toBe(201);
  });
});
