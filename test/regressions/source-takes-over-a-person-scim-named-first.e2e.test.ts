/**
 * A SCIM client that names a person before the source that really provides them does not keep
 * what it granted: when the other source takes the person over, the SCIM client's memberships
 * (an admin role group) end, and its grant is not left where nobody can take it back.
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

/** A canonical event from the HR producer, dated now (after everything the SCIM client sent). */
const hr = (id: string, type: string, user: Record<string, unknown>) => ({
  id,
  type,
  time: new Date().toISOString(),
  source: "hr",
  user,
});

describe("a person a SCIM client named before the source that provides them", () => {
  it("is not made admin by the SCIM client's admin group once another source provides them", async () => {
    // Prepare: the SCIM client pre-provisions the (future) hire and puts them in the admin group.
    const scim = await start();
    const rita = await scim.call("POST", "/Users", entraUser("rita.cho@example.com"));
    const admins = await scim.call("POST", "/Groups", {
      displayName: "Tallyfy Admins",
      members: [{ value: rita.body.id }],
    });
    await pipeline.drain();

    // Act: HR, the source that really provides Rita, creates her (no role, no admin group).
    await new Promise((resolve) => setTimeout(resolve, 20));
    await pipeline.send(
      hr("hr-rita-1", "user.created", { email: "rita.cho@example.com", firstName: "Rita", lastName: "Cho" }),
    );
    await pipeline.drain();

    // Assess: HR provides Rita; nothing HR said makes her an admin.
    expect([rita.status, admins.status]).toEqual([201, 201]);
    expect(pipeline.tallyfy.memberByEmail("rita.cho@example.com")?.role).toBe("standard");
  });

  it("lets the SCIM client take back what it granted, or else forgets its grant", async () => {
    // Prepare: as above, then HR provides Rita.
    const scim = await start();
    const rita = await scim.call("POST", "/Users", entraUser("rita.cho@example.com"));
    const admins = await scim.call("POST", "/Groups", {
      displayName: "Tallyfy Admins",
      members: [{ value: rita.body.id }],
    });
    await pipeline.drain();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await pipeline.send(
      hr("hr-rita-1", "user.created", { email: "rita.cho@example.com", firstName: "Rita", lastName: "Cho" }),
    );
    await pipeline.drain();

    // Act: the SCIM client removes Rita from its admin group.
    const removed = await scim.call(
      "PATCH",
      `/Groups/${admins.body.id}`,
      patchOp({ op: "remove", path: `members[value eq "${rita.body.id}"]` }),
    );
    await pipeline.drain();

    // Assess: the grant is gone one way or the other; Rita is not left an admin nobody can demote.
    expect(removed.status).toBe(204);
    expect(pipeline.tallyfy.memberByEmail("rita.cho@example.com")?.role).toBe("standard");
  });
});
