/**
 * A person's item stays bounded however many unmapped groups their full lists name over time: an
 * absence from a group that maps to nothing is not kept, so the item never nears DynamoDB's 400 KB
 * and a later change (a role-group removal) still applies.
 */
import { afterEach, describe, expect, it } from "vitest";
import { startPipeline, type TestPipeline } from "../../local/pipeline.js";
import { eventsAt, expectConserved } from "../support/e2e.js";

let pipeline: TestPipeline;

afterEach(async () => {
  for (const tally of [...pipeline.tallies.ingest, ...pipeline.tallies.apply]) expectConserved(tally);
  await pipeline.stop();
});

describe("a person whose lists name ever new unmapped groups", () => {
  it("keeps an item far under DynamoDB's limit, and a role-group removal still applies", async () => {
    // Prepare: 120 lists of 40 groups each that map to nothing (as Okta and Entra name by id and name).
    pipeline = await startPipeline({ ingestBatchSize: 1 });
    const at = eventsAt("churn");
    const kim = { email: "kim@example.com", firstName: "Kim", lastName: "Ode" };
    await pipeline.send(at(0, "user.created", { user: { ...kim, groups: ["Tallyfy Admins"] } }));
    for (let round = 1; round <= 120; round++) {
      const unmapped = Array.from({ length: 40 }, (_, n) => `project-${round}-${n}-${"x".repeat(60)}`);
      await pipeline.send(
        at(round % 59, "user.updated", { user: { ...kim, groups: ["Tallyfy Admins", ...unmapped] } }),
      );
    }
    await pipeline.drain(120_000);
    const admin = pipeline.tallyfy.memberByEmail("kim@example.com")?.role;

    // Act
    await pipeline.send({
      ...at(59, "user.updated", { user: { ...kim, groups: [] } }),
      time: "2026-11-23T11:30:00.000Z",
    });
    await pipeline.drain();

    // Assess
    const item = await pipeline.directory.person("kim@example.com");
    expect(admin).toBe("admin");
    expect(Buffer.byteLength(JSON.stringify(item))).toBeLessThan(100_000);
    expect(pipeline.tallyfy.memberByEmail("kim@example.com")?.role).toBe("standard");
    expect(await pipeline.deadLetters("ingest")).toEqual([]);
  }, 180_000);
});
