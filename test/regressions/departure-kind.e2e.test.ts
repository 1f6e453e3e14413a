/**
 * Regressions found by attacking departures of people whose kind (member or guest) the directory decides differently
 * from Tallyfy.
 */
import { afterEach, describe, expect, it } from "vitest";
import { startPipeline, type TestPipeline } from "../../local/pipeline.js";
import { eventsAt } from "../support/e2e.js";

let pipeline: TestPipeline;

afterEach(async () => {
  await pipeline.stop();
});

const at = eventsAt("attack-kind");

describe("a departure of a Tallyfy member the directory takes for a guest", () => {
  it("a member outside memberDomains who leaves is disabled, or the departure is dead-lettered", async () => {
    // Prepare: a contractor holding a full member seat, added to Tallyfy by an administrator.
    pipeline = await startPipeline();
    pipeline.tallyfy.addMember({ email: "sam@contractor.io", first_name: "Sam", last_name: "Lee" });

    // Act
    await pipeline.send(at(1, "user.deactivated", { user: { email: "sam@contractor.io" } }));
    await pipeline.drain();

    // Assess
    const status = pipeline.tallyfy.memberByEmail("sam@contractor.io")?.status;
    const letters = await pipeline.deadLetters("reconcile");
    expect({ status, deadLettered: letters.length > 0 }).not.toEqual({
      status: "active",
      deadLettered: false,
    });
  });

  it("a member the source once called a guest (MemberNotGuestError) is disabled when they leave", async () => {
    // Prepare
    pipeline = await startPipeline();
    pipeline.tallyfy.addMember({ email: "alice@example.com", first_name: "Alice", last_name: "Ng" });
    await pipeline.send(at(1, "user.updated", { user: { email: "alice@example.com", guest: true } }));
    await pipeline.drain();
    const refused = (await pipeline.deadLetters("reconcile")).map((l) => l.errorType);

    // Act
    await pipeline.send(at(2, "user.deactivated", { user: { email: "alice@example.com" } }));
    await pipeline.drain();

    // Assess
    expect(refused).toEqual(["MemberNotGuestError"]);
    expect(pipeline.tallyfy.memberByEmail("alice@example.com")?.status).toBe("disabled");
  });
});
