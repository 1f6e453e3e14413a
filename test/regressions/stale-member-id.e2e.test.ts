/**
 * Regressions found by attacking the member id the directory keeps, as a group reconcile uses it.
 */
import { afterEach, describe, expect, it } from "vitest";
import { startPipeline, type TestPipeline } from "../../local/pipeline.js";
import { eventsAt, membersOf } from "../support/e2e.js";

let pipeline: TestPipeline;

afterEach(async () => {
  await pipeline.stop();
});

const at = eventsAt("attack-stale");

describe("a member removed from the organization by hand", () => {
  it("does not block another person's add to a group they were in", async () => {
    // Prepare
    pipeline = await startPipeline();
    const alice = pipeline.tallyfy.addMember({
      email: "alice@example.com",
      first_name: "Alice",
      last_name: "Ng",
    });
    pipeline.tallyfy.addMember({ email: "bob@example.com", first_name: "Bob", last_name: "Stone" });
    pipeline.tallyfy.addGroup({ name: "Engineering" });
    await pipeline.send(
      at(1, "group.member_added", { user: { email: "alice@example.com" }, group: { name: "Engineering" } }),
    );
    await pipeline.drain();
    const before = membersOf(pipeline.tallyfy, "Engineering");
    // An administrator removes Alice from the organization in Tallyfy (Tallyfy drops her from groups).
    pipeline.tallyfy.members.delete(alice.id);
    for (const group of pipeline.tallyfy.groups.values())
      group.members = group.members.filter((id) => id !== alice.id);

    // Act
    await pipeline.send(
      at(2, "group.member_added", { user: { email: "bob@example.com" }, group: { name: "Engineering" } }),
    );
    await pipeline.drain();

    // Assess
    expect(before).toEqual(["alice@example.com"]);
    const letters = await pipeline.deadLetters("reconcile");
    expect(letters.map((l) => `${l.errorType}: ${l.errorMessage}`)).toEqual([]);
    expect(membersOf(pipeline.tallyfy, "Engineering")).toEqual(["bob@example.com"]);
  });
});
