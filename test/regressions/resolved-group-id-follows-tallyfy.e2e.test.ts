/**
 * The Tallyfy group id the directory keeps for a mapped name follows Tallyfy: a group deleted or
 * renamed there is resolved again.
 */
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_TEST_CONFIG, startPipeline, type TestPipeline } from "../../local/pipeline.js";
import { eventsAt, membersOf } from "../support/e2e.js";

let pipeline: TestPipeline;

afterEach(async () => {
  await pipeline.stop();
});

const at = eventsAt("attack-gid");

describe("a mapped Tallyfy group deleted after its name was resolved", () => {
  it("with createMissingGroups, the group is created again and the new member is in it", async () => {
    // Prepare
    pipeline = await startPipeline({ config: { ...DEFAULT_TEST_CONFIG, createMissingGroups: true } });
    for (const email of ["alice@example.com", "bob@example.com"])
      pipeline.tallyfy.addMember({ email, first_name: "A", last_name: "B" });
    const old = pipeline.tallyfy.addGroup({ name: "Engineering" });
    await pipeline.send(
      at(1, "group.member_added", { user: { email: "alice@example.com" }, group: { name: "Engineering" } }),
    );
    await pipeline.drain();
    // An administrator deletes the group in Tallyfy.
    pipeline.tallyfy.groups.delete(old.id);
    pipeline.coldStart();

    // Act
    await pipeline.send(
      at(2, "group.member_added", { user: { email: "bob@example.com" }, group: { name: "Engineering" } }),
    );
    await pipeline.drain();

    // Assess
    const letters = await pipeline.deadLetters("reconcile");
    expect(letters.map((l) => `${l.errorType}: ${l.errorMessage}`)).toEqual([]);
    expect(membersOf(pipeline.tallyfy, "Engineering")).toContain("bob@example.com");
  });

  it("without createMissingGroups, recreating the group by hand and redriving (as the README says) applies the change", async () => {
    // Prepare
    pipeline = await startPipeline();
    for (const email of ["alice@example.com", "bob@example.com"])
      pipeline.tallyfy.addMember({ email, first_name: "A", last_name: "B" });
    const old = pipeline.tallyfy.addGroup({ name: "Engineering" });
    await pipeline.send(
      at(1, "group.member_added", { user: { email: "alice@example.com" }, group: { name: "Engineering" } }),
    );
    await pipeline.drain();
    pipeline.tallyfy.groups.delete(old.id);
    await pipeline.send(
      at(2, "group.member_added", { user: { email: "bob@example.com" }, group: { name: "Engineering" } }),
    );
    await pipeline.drain();
    const first = await pipeline.deadLetters("reconcile");

    // Act: "create the missing Tallyfy group", then a fresh change for Bob (any redrive reads the same id)
    pipeline.tallyfy.addGroup({ name: "Engineering" });
    pipeline.coldStart();
    await pipeline.send(
      at(3, "user.updated", { user: { email: "bob@example.com", groups: ["Engineering"] } }),
    );
    await pipeline.drain();

    // Assess
    expect(first.map((l) => l.errorType)).toEqual(["GroupNotFoundError"]);
    expect(membersOf(pipeline.tallyfy, "Engineering")).toContain("bob@example.com");
  });
});
