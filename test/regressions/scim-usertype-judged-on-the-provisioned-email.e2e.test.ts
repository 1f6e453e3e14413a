/**
 * A SCIM userType never makes an address outside memberDomains a member, judged on the address
 * the change is applied to: the person the user was first provisioned under (the link), not the
 * email the request now names.
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

describe("a userType on a SCIM user whose email changed", () => {
  it("never makes the outside address the user was provisioned under a member", async () => {
    // Prepare: an outsider provisioned through SCIM (a guest by the email domain).
    const scim = await start();
    const outsider = "sam.out@partner.example.org";
    const created = await scim.call("POST", "/Users", entraUser(outsider));

    // Act: the same user's email becomes an inside address, and its userType Contractor.
    const patched = await scim.call(
      "PATCH",
      `/Users/${created.body.id}`,
      patchOp(
        {
          op: "replace",
          path: "emails",
          value: [{ value: "sam.in@example.com", primary: true, type: "work" }],
        },
        { op: "replace", path: "userType", value: "Contractor" },
      ),
    );
    await pipeline.drain();

    // Assess: the person Tallyfy knows is still the outsider, and must stay a guest.
    expect([created.status, patched.status]).toEqual([201, 200]);
    expect(pipeline.tallyfy.memberByEmail("sam.in@example.com")).toBeUndefined();
    expect(pipeline.tallyfy.memberByEmail(outsider)).toBeUndefined();
    expect(pipeline.tallyfy.guests.get(outsider)).toBeDefined();
  });
});
