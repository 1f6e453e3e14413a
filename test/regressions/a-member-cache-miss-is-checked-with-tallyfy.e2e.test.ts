/**
 * "Not in Tallyfy" is never concluded from the apply container's member cache: a member invited by
 * hand after the container listed the members is found by asking Tallyfy, and the change is
 * applied to them, not marked reconciled unapplied.
 */
import { afterEach, describe, expect, it } from "vitest";
import { startPipeline, type TestPipeline } from "../../local/pipeline.js";
import { eventsAt, expectConserved } from "../support/e2e.js";

let pipeline: TestPipeline;

afterEach(async () => {
  for (const tally of [...pipeline.tallies.ingest, ...pipeline.tallies.apply]) expectConserved(tally);
  await pipeline.stop();
});

describe("a member the cache has not seen", () => {
  it("gets the role an update without names gives, when an admin invited them by hand after the cache was filled", async () => {
    // Prepare: a first reconcile fills the container's member cache.
    pipeline = await startPipeline();
    const at = eventsAt("hr");
    await pipeline.send(
      at(0, "user.created", { user: { email: "bo@example.com", firstName: "Bo", lastName: "Li" } }),
    );
    await pipeline.drain();
    // Then an admin invites Ana by hand in Tallyfy.
    pipeline.tallyfy.addMember({
      email: "ana@example.com",
      first_name: "Ana",
      last_name: "Ruiz",
      role: "standard",
    });

    // Act: HR's update carries a role and no names.
    await pipeline.send(at(1, "user.updated", { user: { email: "ana@example.com", role: "admin" } }));
    await pipeline.drain();

    // Assess
    expect(pipeline.tallyfy.memberByEmail("ana@example.com")?.role).toBe("admin");
  });
});
