import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeOkta } from "../local/fakes/fake-okta.js";
import { ACME, ACME_CONFIG, seedAcme } from "../local/fakes/okta-directory.js";
import { localFullSync } from "../local/full-sync.js";
import { startPipeline, type TestPipeline } from "../local/pipeline.js";
import { membersOf } from "./support/e2e.js";

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

/** Okta has Carol and Erin too; the first run brings Tallyfy in step with all four. */
async function synced(options: { maxDepartureShare?: number; pageSize?: number; extraUsers?: number } = {}) {
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
  okta.addToGroup(carol.id, ACME.engineering);
  for (let n = 0; n < (options.extraUsers ?? 0); n++) {
    const user = okta.addUser({
      login: `staff${n}@example.com`,
      email: `staff${n}@example.com`,
      firstName: "Staff",
      lastName: `Number${n}`,
    });
    okta.assignApp(ACME.appId, user.id);
  }
  pipeline = await startPipeline({ config: ACME_CONFIG, okta: { fake: okta } });
  pipeline.tallyfy.addGroup({ name: "Engineering", description: "Builders" });
  pipeline.tallyfy.addMember({ email: "carol.diaz@example.com", first_name: "Carol", last_name: "Diaz" });
  const fullSync = await localFullSync(pipeline, {
    config: ACME_CONFIG,
    okta: { fake: okta, pageSize: options.pageSize ?? 2 },
    maxDepartureShare: options.maxDepartureShare,
  });
  await fullSync.run();
  await pipeline.drain();
  return { fullSync, erin };
}

describe("full reconciliation", () => {
  it("corrects exactly the drift the configuration describes and leaves unmanaged people alone", async () => {
    // Prepare
    // Four people are managed; one departure is a quarter of them, so the limit is a quarter.
    const { fullSync } = await synced({ maxDepartureShare: 0.25 });
    const { tallyfy } = pipeline;
    const dev = tallyfy.memberByEmail("dev.patel@example.com");
    const alice = tallyfy.memberByEmail("alice.nguyen@example.com");
    const erin = tallyfy.memberByEmail("erin.shaw@example.com");
    const engineering = tallyfy.groupByName("Engineering");
    if (!dev || !alice || !erin || !engineering) throw new Error("the first run did not provision everyone");
    // A member missing (deleted by hand), a wrong role, an extra group member, a person the source
    // deleted, and a person the source never had (in the mapped group too).
    tallyfy.members.delete(dev.id);
    engineering.members = engineering.members.filter((id) => id !== dev.id);
    alice.role = "light";
    engineering.members.push(erin.id);
    okta.deleteUser(ACME.carol);
    const mallory = tallyfy.addMember({ email: "mallory@example.com", first_name: "Mal", last_name: "Lory" });
    engineering.members.push(mallory.id);
    const malloryBefore = { ...mallory };
    tallyfy.requests.length = 0;

    // Act
    const steps = await fullSync.run();
    await pipeline.drain();

    // Assess
    expect(steps.at(-1)?.done).toBe(true);
    expect(tallyfy.memberByEmail("dev.patel@example.com")).toMatchObject({
      status: "invited",
      role: "standard",
    });
    expect(tallyfy.memberByEmail("alice.nguyen@example.com")?.role).toBe("admin");
    expect(tallyfy.memberByEmail("carol.diaz@example.com")?.status).toBe("disabled");
    expect(membersOf(tallyfy, "Engineering")).toEqual([
      "alice.nguyen@example.com",
      "dev.patel@example.com",
      "mallory@example.com",
    ]);
    // Mallory: not one write names her, and she is as she was.
    expect(tallyfy.memberByEmail("mallory@example.com")).toEqual(malloryBefore);
    expect(tallyfy.writes.filter((w) => w.path.includes(`/${mallory.id}`))).toEqual([]);
    const report = await fullSync.lastReport();
    expect(report.stopped).toBeUndefined();
    expect(report.unmanaged.members).toEqual(["mallory@example.com"]);
    expect(report.counts.departures).toBe(1);
    expect(
      report.corrected.map((c) => `${c.action} ${c.entity === "group" ? c.detail : c.name}`).sort(),
    ).toEqual([
      "deprovision carol.diaz@example.com",
      // A departed person leaves the mapped groups too.
      "group-remove carol.diaz@example.com",
      "group-remove erin.shaw@example.com",
      "invite dev.patel@example.com",
      "role alice.nguyen@example.com",
    ]);
    expect(report.held).toEqual([]);
  });

  it("deprovisions nobody when the listing fails on its third page", async () => {
    // Prepare
    // One user a page: Alice, Dev, then Erin's page fails.
    const { fullSync } = await synced({ maxDepartureShare: 1, pageSize: 1 });
    okta.deleteUser(ACME.carol);
    okta.failUsersPage(3, 500);
    pipeline.tallyfy.requests.length = 0;

    // Act
    await fullSync.run();
    await pipeline.drain();

    // Assess
    const report = await fullSync.lastReport();
    expect(report.sources.okta).toMatchObject({ complete: false, listed: 2 });
    expect(report.sources.okta?.error).toMatch(/HTTP 500/);
    expect(report.counts.departures).toBe(0);
    expect(pipeline.tallyfy.memberByEmail("carol.diaz@example.com")?.status).not.toBe("disabled");
    expect((await pipeline.directory.person("carol.diaz@example.com"))?.status?.value).not.toBe("inactive");
    expect(pipeline.tallyfy.writes.filter((w) => /disable|remove/.test(w.path))).toEqual([]);
    expect(fullSync.metrics).toContainEqual({ name: "FullSyncListingFailed", value: 1 });
  });

  it("stops and alarms when a run would deprovision 10% of the managed people", async () => {
    // Prepare
    // 20 people managed (the four and 16 staff); two gone from Okta is 10%, above the 5% default.
    const { fullSync } = await synced({ extraUsers: 16, pageSize: 5 });
    okta.deleteUser(ACME.carol);
    const gone = [...okta.users.values()].find((u) => u.profile.login === "staff3@example.com");
    okta.deleteUser(gone?.id ?? "");
    pipeline.tallyfy.requests.length = 0;

    // Act
    await fullSync.run();
    await pipeline.drain();

    // Assess
    const report = await fullSync.lastReport();
    expect(report.stopped).toMatchObject({ departures: 2, share: 0.1 });
    expect(report.stopped?.reason).toMatch(/^2 of okta's 20 managed people \(10%\)/);
    expect(report.held.filter((c) => c.action === "deprovision").map((c) => c.name)).toEqual(
      expect.arrayContaining(["carol.diaz@example.com", "staff3@example.com"]),
    );
    expect(report.counts.departures).toBe(0);
    expect(pipeline.tallyfy.writes).toEqual([]);
    expect(fullSync.metrics).toContainEqual({ name: "FullSyncStopped", value: 1 });
    expect(fullSync.logs.map((l) => l.message)).toContainEqual(
      expect.stringMatching(/^full reconciliation stopped: 2 of okta's 20/),
    );
  });
});
