/**
 * A SCIM request that could never be queued is refused (400), not answered 503 "retrying is safe"
 * forever: SQS refuses a body holding U+FFFE or U+FFFF, which JSON.stringify leaves as they are.
 */
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_TEST_CONFIG, startPipeline, type TestPipeline } from "../../local/pipeline.js";
import { entraUser, patchOp, SCIM_TOKEN, scimClient } from "../support/scim.js";

let pipeline: TestPipeline;

afterEach(async () => {
  await pipeline.stop();
});

async function start() {
  pipeline = await startPipeline({ config: DEFAULT_TEST_CONFIG, scim: { tokens: [SCIM_TOKEN] } });
  return scimClient(pipeline.scimUrl ?? "");
}

describe("a SCIM value SQS cannot carry (U+FFFF)", () => {
  it("in a group's displayName is refused with 400 (or taken), never answered 503 for the client to retry forever", async () => {
    // Prepare
    const scim = await start();
    const ann = await scim.call("POST", "/Users", entraUser("ann.lee@example.com"));

    // Act: the body is JSON with the escape \uffff, as a client would send it.
    const created = await scim.call(
      "POST",
      "/Groups",
      `{"displayName":"Staff\\uffff","members":[{"value":"${ann.body.id}"}]}`,
    );
    const again = await scim.call(
      "POST",
      "/Groups",
      `{"displayName":"Staff\\uffff","members":[{"value":"${ann.body.id}"}]}`,
    );

    // Assess
    expect(ann.status).toBe(201);
    expect(created.status).not.toBe(503);
    expect(again.status).not.toBe(503);
  });

  it("in a user's title is refused with 400 (or taken), and the user can still be changed afterwards", async () => {
    // Prepare
    const scim = await start();
    const ann = await scim.call("POST", "/Users", entraUser("ann.lee@example.com"));

    // Act
    const titled = await scim.call(
      "PATCH",
      `/Users/${ann.body.id}`,
      `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"Lead\\uffff"}]}`,
    );
    const renamed = await scim.call(
      "PATCH",
      `/Users/${ann.body.id}`,
      patchOp({ op: "replace", path: "name.givenName", value: "Anne" }),
    );

    // Assess
    expect(titled.status).not.toBe(503);
    expect(renamed.status).toBe(200);
  });
});
