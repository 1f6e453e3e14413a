/**
 * SCIM 2.0 end to end: requests to the loopback endpoint (the real SCIM handler), through the
 * ingest and reconcile queues, into the fake Tallyfy. Each test checks the SCIM answer and the
 * final Tallyfy state.
 */
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_TEST_CONFIG, startPipeline, type TestPipeline } from "../local/pipeline.js";
import { expectConserved, membersOf } from "./support/e2e.js";
import { entraUser, SCIM_TOKEN, scimClient } from "./support/scim.js";

let pipeline: TestPipeline;

afterEach(async () => {
  for (const tally of [...pipeline.tallies.ingest, ...pipeline.tallies.apply]) expectConserved(tally);
  await pipeline.stop();
});

async function start(config: Record<string, unknown> = DEFAULT_TEST_CONFIG) {
  pipeline = await startPipeline({ config, scim: { tokens: [SCIM_TOKEN] } });
  return scimClient(pipeline.scimUrl ?? "");
}

describe("the SCIM fixtures, as Entra ID and Okta sent them", () => {
  it("creates, updates, groups and disables people in Tallyfy", async () => {
    // Prepare
    const scim = await start();
    pipeline.tallyfy.addGroup({ name: "Engineering" });

    // Act
    const created = await scim.replay("scim-entra/post-user-create");
    const bob = await scim.call("POST", "/Users", entraUser("bob.stone@example.com"));
    const group = await scim.call("POST", "/Groups", {
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"],
      externalId: "0a1b2c3d-0000-4000-8000-000000000001",
      displayName: "Engineering",
      members: [],
    });
    await pipeline.drain();
    const ids = {
      "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b": created.body.id,
      "7a2d3b0f-4c5e-4f60-9b8c-0d1e2f3a4b5c": bob.body.id,
      "a1b2c3d4-e5f6-4789-8abc-def012345678": group.body.id,
    };
    const patched = await scim.replay("scim-entra/patch-user-replace-multiple-attributes", ids);
    const joined = await scim.replay("scim-entra/patch-group-add-member", ids);
    const put = await scim.replay("scim-okta/put-user-full-replace", ids);
    const disabled = await scim.replay("scim-entra/patch-user-disable-active-string-false", ids);
    await pipeline.drain();

    // Assess
    expect(created.status).toBe(201);
    expect(created.headers.get("content-type")).toContain("application/scim+json");
    expect(created.body).toMatchObject({
      userName: "alice.nguyen@example.com",
      active: true,
      meta: { resourceType: "User" },
    });
    expect([patched.status, joined.status, put.status, disabled.status]).toEqual([200, 204, 200, 200]);
    expect(disabled.body.active).toBe(false);
    const alice = pipeline.tallyfy.memberByEmail("alice.nguyen@example.com");
    expect(alice).toMatchObject({
      first_name: "Alicia",
      last_name: "Nguyen-Park",
      job_title: "Operations Manager",
      team: "Customer Success",
      timezone: "America/Chicago",
      phone: "+1 312 555 0199",
    });
    expect(membersOf(pipeline.tallyfy, "Engineering")).toEqual(["alice.nguyen@example.com"]);
    expect(pipeline.tallyfy.memberByEmail("bob.stone@example.com")?.status).toBe("disabled");
    expect(await pipeline.deadLetters("ingest")).toEqual([]);
    expect(await pipeline.deadLetters("reconcile")).toEqual([]);
  });
});
