/**
 * The full reconciliation undoes a departure it inferred from a listing that left someone out once, at
 * the next complete listing.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeOkta } from "../../local/fakes/fake-okta.js";
import { ACME, ACME_CONFIG, seedAcme } from "../../local/fakes/okta-directory.js";
import { localFullSync } from "../../local/full-sync.js";
import { startPipeline, type TestPipeline } from "../../local/pipeline.js";

let okta: FakeOkta;
let pipeline: TestPipeline;

beforeEach(async () => {
  okta = await FakeOkta.start();
  seedAcme(okta);
});

afterEach(async () => {
  await pipeline?.stop();
  await okta.stop();
});

/** 20 people Okta manages (as in test/full-sync.e2e.test.ts), brought in step by a first run. */
async function synced() {
  const carol = okta.addUser(
    {
      login: "carol.diaz@example.com",
      email: "carol.diaz@example.com",
      firstName: "Carol",
      lastName: "Diaz",
    },
    { id: ACME.carol },
  );
  const erin = okta.addUser({
    login: "erin.shaw@example.com",
    email: "erin.shaw@example.com",
    firstName: "Erin",
    lastName: "Shaw",
  });
  for (const user of [carol.id, erin.id]) {
    okta.addToGroup(user, ACME.everyone);
    okta.assignApp(ACME.appId, user);
  }
  const staff: string[] = [];
  for (let n = 0; n < 16; n++) {
    const user = okta.addUser({
      login: `staff${n}@example.com`,
      email: `staff${n}@example.com`,
      firstName: "Staff",
      lastName: `Number${n}`,
    });
    okta.assignApp(ACME.appId, user.id);
    staff.push(user.id);
  }
  pipeline = await startPipeline({ config: ACME_CONFIG, okta: { fake: okta } });
  pipeline.tallyfy.addGroup({ name: "Engineering" });
  const fullSync = await localFullSync(pipeline, { config: ACME_CONFIG, okta: { fake: okta, pageSize: 5 } });
  await fullSync.run();
  await pipeline.drain();
  return { fullSync, staff };
}

describe("a departure inferred from a listing that left someone out once", () => {
  it("is undone by the next complete listing that has the person active and assigned", async () => {
    // Prepare: 20 managed people. On one run Okta answers 404 once for staff3's app assignment
    // (no error for the listing: it looks complete), so staff3 is inferred departed (1 of 20: 5%).
    const { fullSync, staff } = await synced();
    const staff3 = staff[3] ?? "";
    okta.inject({ path: new RegExp(`/api/v1/apps/${ACME.appId}/users/${staff3}$`), status: 404, times: 1 });
    await fullSync.run();
    await pipeline.drain();
    expect(pipeline.tallyfy.memberByEmail("staff3@example.com")?.status).toBe("disabled");

    // Act: the next run lists staff3 ACTIVE and assigned, as Okta always had them.
    await fullSync.run();
    await pipeline.drain();

    // Assess: the next complete listing says staff3 is active in scope: the sync gives access back.
    const report = await fullSync.lastReport();
    expect(report.sources.okta?.complete).toBe(true);
    expect(report.sources.okta?.listed).toBe(20);
    expect(pipeline.tallyfy.memberByEmail("staff3@example.com")?.status).not.toBe("disabled");
    expect((await pipeline.directory.person("staff3@example.com"))?.status?.value).not.toBe("inactive");
  });
});
