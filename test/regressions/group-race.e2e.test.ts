/**
 * Regressions found by attacking the reconciler's decision to ask (or not) for a group reconcile.
 */
import { afterEach, describe, expect, it } from "vitest";
import { startPipeline, type TestPipeline } from "../../local/pipeline.js";
import { eventsAt, membersOf, until } from "../support/e2e.js";

let pipeline: TestPipeline;

afterEach(async () => {
  await pipeline.stop();
});

const at = eventsAt("attack-race");

describe("a person's reconcile racing a group's reconcile", () => {
  it("a removal that lands while the group's add is being written is not lost", async () => {
    // Prepare
    pipeline = await startPipeline({ applyConcurrency: 2, visibilityTimeoutSeconds: 12 });
    pipeline.tallyfy.addMember({ email: "alice@example.com", first_name: "Alice", last_name: "Ng" });
    pipeline.tallyfy.addGroup({ name: "Engineering" });
    const groupPut = /\/groups\/[0-9a-f]{32}$/;
    // The group's write (adding Alice) is slow to arrive.
    pipeline.tallyfy.inject({ method: "PUT", path: groupPut, delayMs: 3_000, times: 1 });

    // Act
    await pipeline.send(
      at(1, "group.member_added", { user: { email: "alice@example.com" }, group: { name: "Engineering" } }),
    );
    const adding = pipeline.drain();
    await until(() => pipeline.tallyfy.requests.some((r) => r.method === "PUT" && groupPut.test(r.path)));
    await pipeline.send(
      at(2, "group.member_removed", { user: { email: "alice@example.com" }, group: { name: "Engineering" } }),
    );
    await adding;
    await pipeline.drain();

    // Assess
    const alice = await pipeline.directory.person("alice@example.com");
    expect(alice?.memberships.engineering?.value).toBe(false);
    expect(membersOf(pipeline.tallyfy, "Engineering")).toEqual([]);
  });
});

describe("a mapped group renamed in Tallyfy, then a cold container", () => {
  it("a member removed from the renamed group is taken out of it", async () => {
    // Prepare
    pipeline = await startPipeline();
    pipeline.tallyfy.addMember({ email: "alice@example.com", first_name: "Alice", last_name: "Ng" });
    pipeline.tallyfy.addGroup({ name: "Engineering" });
    await pipeline.send(
      at(1, "group.member_added", { user: { email: "alice@example.com" }, group: { name: "Engineering" } }),
    );
    await pipeline.drain();
    await pipeline.send(at(2, "group.updated", { group: { name: "Platform", previousName: "Engineering" } }));
    await pipeline.drain();
    const before = membersOf(pipeline.tallyfy, "Platform");

    // Act
    pipeline.coldStart();
    await pipeline.send(
      at(3, "group.member_removed", { user: { email: "alice@example.com" }, group: { name: "Engineering" } }),
    );
    await pipeline.drain();

    // Assess
    expect(before).toEqual(["alice@example.com"]);
    expect(membersOf(pipeline.tallyfy, "Platform")).toEqual([]);
  });
});
