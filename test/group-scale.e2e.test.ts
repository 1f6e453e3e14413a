/**
 * What a group's reconcile costs when many people change at once:
 * - a burst of changes to one group costs a few reconciles of it, not one each: a person's change
 *   sends no group reconcile while one is queued and has yet to start, since that one reads the
 *   newest state when it does; what changes after a reconcile has started sends a message of its own;
 * - a group's reconcile reads the people who were ever in the group, not everyone a full group
 *   list says is absent from it, yet still takes out a person the Tallyfy group has and should not.
 */
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterEach, describe, expect, it } from "vitest";
import { Directory, PENDING_GROUP_TRUST_MS } from "../handlers/directory/directory.js";
import { type LocalDynamo, startLocalDynamo } from "../local/dynamodb.js";
import { startPipeline, type TestPipeline } from "../local/pipeline.js";
import { eventsAt, membersOf } from "./support/e2e.js";

let pipeline: TestPipeline | undefined;
let dynamo: LocalDynamo | undefined;

afterEach(async () => {
  await pipeline?.stop();
  await dynamo?.stop();
  pipeline = undefined;
  dynamo = undefined;
});

describe("a group's reconcile that is queued and not started", () => {
  it("covers the changes after it, until it starts or is no longer trusted to", async () => {
    // Prepare
    dynamo = await startLocalDynamo();
    const directory = new Directory(DynamoDBDocumentClient.from(dynamo.client), dynamo.tableName);
    const t0 = Date.parse("2026-12-01T09:00:00Z");

    // Act
    const first = await directory.touchGroup("abc123", t0);
    await directory.groupQueued("abc123", first.revision, t0);
    const whileQueued = await directory.touchGroup("abc123", t0 + 1_000);
    const started = await directory.startGroup("abc123");
    const afterStart = await directory.touchGroup("abc123", t0 + 2_000);
    await directory.groupQueued("abc123", afterStart.revision, t0 + 2_000);
    const lostQueue = await directory.touchGroup("abc123", t0 + 2_000 + PENDING_GROUP_TRUST_MS);

    // Assess
    expect(first).toEqual({ revision: 1, pending: false });
    expect(whileQueued).toEqual({ revision: 2, pending: true });
    expect(started.revision).toBe(2);
    expect(afterStart).toEqual({ revision: 3, pending: false });
    // A queued reconcile that never started (dead-lettered unread) is trusted no longer.
    expect(lostQueue).toEqual({ revision: 4, pending: false });
  });
});

describe("a burst of new hires into one group", () => {
  it("puts every one of them in the group with a few reconciles of the group, not one per hire", async () => {
    // Prepare
    // Paced as deployed, so the hires reach Tallyfy one by one and the group is asked for again and again.
    pipeline = await startPipeline({ tallyfyRequestsPerMinute: 3_000, applyConcurrency: 2 });
    pipeline.tallyfy.addGroup({ name: "Engineering" });
    const at = eventsAt("coalesce");
    const hires = Array.from({ length: 60 }, (_, i) => `hire${String(i).padStart(2, "0")}@example.com`);

    // Act
    await pipeline.send(
      ...hires.map((email, i) =>
        at(i, "user.created", {
          user: { email, firstName: "New", lastName: `Hire ${i}`, groups: ["Engineering"] },
        }),
      ),
    );
    await pipeline.drain();

    // Assess
    expect(await pipeline.deadLetters("reconcile")).toEqual([]);
    expect(membersOf(pipeline.tallyfy, "Engineering").sort()).toEqual(hires);
    const groupWrites = pipeline.tallyfy.writes.filter((r) => r.path.includes("/groups/"));
    const groupReads = pipeline.tallyfy.requests.filter(
      (r) => r.method === "GET" && /\/groups\/\w+$/.test(r.path),
    );
    // Each reconcile reads the group; one per hire was 13 for these 60 before reconciles were coalesced.
    expect(groupReads.length).toBeLessThanOrEqual(8);
    expect(groupWrites.length).toBeLessThanOrEqual(groupReads.length);
  });
});

describe("the index a group's reconcile reads", () => {
  it("names the people present in the group, not everyone a full group list says is absent", async () => {
    // Prepare
    pipeline = await startPipeline();
    for (const name of ["Engineering", "Sales", "Partners"]) pipeline.tallyfy.addGroup({ name });
    const at = eventsAt("index");
    const hires = ["ann", "bob", "cy", "dee"].map((n) => `${n}@example.com`);

    // Act: each event's list is the whole of the person's groups, so it says they are absent from the rest.
    await pipeline.send(
      ...hires.map((email, i) =>
        at(i, "user.created", {
          user: { email, firstName: "New", lastName: "Hire", groups: ["Engineering"] },
        }),
      ),
    );
    await pipeline.drain();
    const indexed = await new Directory(
      DynamoDBDocumentClient.from(pipeline.dynamo.client),
      pipeline.dynamo.tableName,
    ).membersOfIdpGroups(["Sales", "Partners"]);

    // Assess
    expect(membersOf(pipeline.tallyfy, "Engineering")).toEqual(hires);
    expect(indexed).toEqual([]);
  });

  it("still takes out of a Tallyfy group a member added by hand whom the source says is not in it", async () => {
    // Prepare: Tallyfy has Bea in Sales from before the sync; the source never had her in Sales.
    pipeline = await startPipeline();
    const bea = pipeline.tallyfy.addMember({
      email: "bea@example.com",
      first_name: "Bea",
      last_name: "Hand",
    });
    pipeline.tallyfy.addGroup({ name: "Engineering" });
    pipeline.tallyfy.addGroup({ name: "Partners" });
    pipeline.tallyfy.addGroup({ name: "Sales", members: [bea.id] });
    const at = eventsAt("by-hand");

    // Act
    await pipeline.send(
      at(0, "user.updated", {
        user: { email: "bea@example.com", firstName: "Bea", lastName: "Hand", groups: ["Engineering"] },
      }),
    );
    await pipeline.drain();

    // Assess
    expect(await pipeline.deadLetters("reconcile")).toEqual([]);
    expect(membersOf(pipeline.tallyfy, "Sales")).toEqual([]);
    expect(membersOf(pipeline.tallyfy, "Engineering")).toEqual(["bea@example.com"]);
  });

  it("still takes a guest added by hand off a group's guest list when the source says they are not in it", async () => {
    // Prepare: a guest on Sales' guest list from before the sync.
    pipeline = await startPipeline();
    pipeline.tallyfy.addGroup({ name: "Engineering" });
    pipeline.tallyfy.addGroup({ name: "Partners" });
    pipeline.tallyfy.addGroup({ name: "Sales", guests: ["gil@partner.example.org"] });
    const at = eventsAt("guest-by-hand");

    // Act
    await pipeline.send(
      at(0, "user.updated", {
        user: { email: "gil@partner.example.org", firstName: "Gil", lastName: "Guest", groups: [] },
      }),
    );
    await pipeline.drain();

    // Assess
    expect(await pipeline.deadLetters("reconcile")).toEqual([]);
    expect(pipeline.tallyfy.groupByName("Sales")?.guests).toEqual([]);
  });
});
