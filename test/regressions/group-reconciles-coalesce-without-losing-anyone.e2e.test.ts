/**
 * Group reconciles are coalesced and the `idpgroup#` index keeps only what a reconcile needs, and
 * still no member is lost or left in a group.
 */
import { afterEach, describe, expect, it } from "vitest";
import { membershipIn } from "../../handlers/core/desired-state.js";
import { localFullSync } from "../../local/full-sync.js";
import { DEFAULT_TEST_CONFIG, startPipeline, type TestPipeline } from "../../local/pipeline.js";
import { eventsAt, membersOf } from "../support/e2e.js";

let pipeline: TestPipeline | undefined;

afterEach(async () => {
  await pipeline?.stop();
  pipeline = undefined;
});

describe("a managed member added by hand to a mapped group after their own reconcile", () => {
  it("is taken out by the next full reconciliation, as the source says they are not in it", async () => {
    // Prepare: Ann is managed (her source's full list says Engineering only, so she is recorded
    // absent from Sales). Her reconcile finds her in no Tallyfy group she should not be in, so it
    // asks for no Sales reconcile and her absence is never indexed.
    pipeline = await startPipeline();
    for (const name of ["Engineering", "Sales", "Partners"]) pipeline.tallyfy.addGroup({ name });
    const at = eventsAt("hand-after");
    await pipeline.send(
      at(0, "user.created", {
        user: { email: "ann@example.com", firstName: "Ann", lastName: "Lee", groups: ["Engineering"] },
      }),
    );
    await pipeline.drain();
    const ann = pipeline.tallyfy.memberByEmail("ann@example.com");
    const sales = pipeline.tallyfy.groupByName("Sales");
    if (!ann || !sales) throw new Error("Ann was not provisioned");
    const recorded = await pipeline.directory.person("ann@example.com");
    if (!recorded) throw new Error("Ann was not recorded");
    expect(membershipIn(recorded, "sales", pipeline.config())?.value).toBe(false);
    // Then an administrator adds Ann to Sales by hand in Tallyfy.
    sales.members.push(ann.id);

    // Act: Bob joins Sales. The Sales reconcile reads the people ever in Sales (not Ann: indexing
    // every absence a full list implies made each group's reconcile read the whole organization),
    // so a hand-made change like this one waits for the full reconciliation, which compares every
    // group with Tallyfy and reconciles Ann herself.
    await pipeline.send(
      at(1, "user.created", {
        user: { email: "bob@example.com", firstName: "Bob", lastName: "Ray", groups: ["Sales"] },
      }),
    );
    await pipeline.drain();
    const fullSync = await localFullSync(pipeline, { config: DEFAULT_TEST_CONFIG, sources: [] });
    await fullSync.run();
    await pipeline.drain();

    // Assess: Ann, managed and absent, was taken out
    // (docs/architecture.md 2.2: "managed people with only absent memberships are taken out").
    expect(await pipeline.deadLetters("reconcile")).toEqual([]);
    expect(membersOf(pipeline.tallyfy, "Sales")).toContain("bob@example.com");
    expect(membersOf(pipeline.tallyfy, "Sales")).toEqual(["bob@example.com"]);
  });
});
