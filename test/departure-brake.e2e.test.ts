/**
 * The departure brake: past a source's limit in its window, a departure is held (recorded, not
 * applied, the person still active and in their groups) until an administrator approves or
 * rejects it, or the source says the person is back.
 */
import { afterEach, describe, expect, it } from "vitest";
import { decideHolds, listHolds } from "../cli/holds.js";
import { ReconcileQueue } from "../handlers/runtime/queues.js";
import { DEFAULT_TEST_CONFIG, event, startPipeline, type TestPipeline } from "../local/pipeline.js";
import { entraUser, SCIM_TOKEN, scimClient } from "./support/scim.js";

let pipeline: TestPipeline;

afterEach(async () => {
  await pipeline?.stop();
});

const emailOf = (i: number) => `p${String(i).padStart(2, "0")}@example.com`;

const arrival = (i: number) =>
  event("user.created", {
    user: { email: emailOf(i), firstName: "P", lastName: String(i), groups: ["Engineering"] },
  });
const departure = (i: number) => event("user.deactivated", { user: { email: emailOf(i) } });
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);

async function start(departureBrake: unknown, scim = false) {
  pipeline = await startPipeline({
    config: { ...DEFAULT_TEST_CONFIG, departureBrake },
    ...(scim ? { scim: { tokens: [SCIM_TOKEN] } } : {}),
  });
  pipeline.tallyfy.addGroup({ name: "Engineering", description: "Engineering", members: [] });
  await pipeline.send(...range(0, 30).map(arrival));
  await pipeline.drain();
}

const statusOf = (i: number) => pipeline.tallyfy.memberByEmail(emailOf(i))?.status;
const disabled = () => range(0, 30).filter((i) => statusOf(i) === "disabled");

function engineering(): Set<string | undefined> {
  const group = [...pipeline.tallyfy.groups.values()].find((g) => g.name === "Engineering");
  return new Set(group?.members.map((id) => pipeline.tallyfy.members.get(id)?.email));
}

function decide(state: "approved" | "rejected", emails: readonly string[] | "all") {
  const queue = new ReconcileQueue(pipeline.sqs, pipeline.queues.reconcile.url);
  return decideHolds(
    { holds: pipeline.directory.holds, reconcile: (messages) => queue.send(messages) },
    { state, by: "admin@example.com" },
    emails,
  );
}

describe("the departure brake", () => {
  it("applies a source's departures up to its limit and holds the rest, still active and in their groups", async () => {
    // Prepare
    await start({ maxPerWindow: 10 });

    // Act
    await pipeline.send(...range(0, 25).map(departure));
    await pipeline.drain();

    // Assess: exactly ten disabled; fifteen held, listed with why, untouched in Tallyfy.
    expect(disabled()).toHaveLength(10);
    const held = (await listHolds({ holds: pipeline.directory.holds })).filter(
      (h) => h.hold.state === "held",
    );
    expect(held).toHaveLength(15);
    expect(held[0]?.hold.reason).toMatch(
      /canonical already had 10 departures applied in the last 15 minutes/,
    );
    for (const { email } of held) {
      expect(pipeline.tallyfy.memberByEmail(email)?.status).not.toBe("disabled");
      expect(engineering().has(email)).toBe(true);
    }
    expect(await pipeline.deadLetters("reconcile")).toEqual([]);
  });

  it("leaves a departing person in their groups until their own reconcile lets the departure through", async () => {
    // Prepare: the departure is in the directory, its person's reconcile not run yet.
    await start({ maxPerWindow: 0, maxShare: 0 });
    await pipeline.directory.record(
      { id: "gone", time: "2026-11-23T11:00:00Z", type: "user.deactivated", user: { email: emailOf(3) } },
      pipeline.config(),
      { id: "canonical" },
    );

    // Act: someone else joins Engineering, so its group reconcile reads everyone in it.
    await pipeline.send(arrival(30));
    await pipeline.drain();

    // Assess
    expect(engineering().has(emailOf(30))).toBe(true);
    expect(engineering().has(emailOf(3))).toBe(true);
  });

  it("holds nothing when it is turned off", async () => {
    // Prepare
    await start(false);

    // Act
    await pipeline.send(...range(0, 25).map(departure));
    await pipeline.drain();

    // Assess
    expect(disabled()).toHaveLength(25);
    expect(await listHolds({ holds: pipeline.directory.holds })).toEqual([]);
  });

  it("applies exactly the approved set: a departure held after the list waits for its own decision", async () => {
    // Prepare: two departures past a limit of one, approved by name; a third held afterwards.
    await start({ maxPerWindow: 1 });
    await pipeline.send(departure(0), departure(1), departure(2));
    await pipeline.drain();
    const first = disabled();
    expect(first).toHaveLength(1);
    const heldNow = (await listHolds({ holds: pipeline.directory.holds })).map((h) => h.email);

    // Act
    const result = await decide("approved", "all");
    await pipeline.send(departure(3));
    await pipeline.drain();

    // Assess
    expect([...result.decided].sort()).toEqual(heldNow.sort());
    expect(disabled()).toEqual([0, 1, 2]);
    expect(statusOf(3)).not.toBe("disabled");
    const left = await listHolds({ holds: pipeline.directory.holds });
    expect(left.map((h) => [h.email, h.hold.state])).toEqual([[emailOf(3), "held"]]);
    expect(engineering().has(emailOf(1))).toBe(false);
  });

  it("keeps a rejected person active and in their groups through later reconciles, and records who kept them", async () => {
    // Prepare
    await start({ maxPerWindow: 0, maxShare: 0 });
    await pipeline.send(departure(5));
    await pipeline.drain();

    // Act: rejected, then the person's profile changes and a group reconcile runs.
    const result = await decide("rejected", [emailOf(5)]);
    await pipeline.send(event("user.updated", { user: { email: emailOf(5), jobTitle: "Kept" } }), arrival(6));
    await pipeline.drain();

    // Assess
    expect(result.decided).toEqual([emailOf(5)]);
    expect(statusOf(5)).not.toBe("disabled");
    expect(engineering().has(emailOf(5))).toBe(true);
    const [kept] = await listHolds({ holds: pipeline.directory.holds });
    expect(kept?.hold).toMatchObject({ state: "rejected", decidedBy: "admin@example.com" });
  });

  it("keeps a rejected person when the source says again that they left", async () => {
    // Prepare
    await start({ maxPerWindow: 0, maxShare: 0 });
    await pipeline.send(departure(5));
    await pipeline.drain();
    await decide("rejected", [emailOf(5)]);

    // Act: the same departure, redelivered, and another at a newer time.
    await pipeline.send(departure(5));
    await pipeline.drain();

    // Assess
    expect(statusOf(5)).not.toBe("disabled");
    const [kept] = await listHolds({ holds: pipeline.directory.holds });
    expect(kept?.hold.state).toBe("rejected");
  });

  it("brakes the next departure of a rejected person who came back", async () => {
    // Prepare
    await start({ maxPerWindow: 0, maxShare: 0 });
    await pipeline.send(departure(5));
    await pipeline.drain();
    await decide("rejected", [emailOf(5)]);
    await pipeline.send(event("user.reactivated", { user: { email: emailOf(5) } }));
    await pipeline.drain();

    // Act
    await pipeline.send(departure(5));
    await pipeline.drain();

    // Assess
    expect(statusOf(5)).not.toBe("disabled");
    const [again] = await listHolds({ holds: pipeline.directory.holds });
    expect(again?.hold.state).toBe("held");
  });

  it("releases a held person the source says is back, without a departure", async () => {
    // Prepare
    await start({ maxPerWindow: 0, maxShare: 0 });
    await pipeline.send(departure(7));
    await pipeline.drain();

    // Act
    await pipeline.send(
      event("user.reactivated", { user: { email: emailOf(7), firstName: "P", lastName: "7" } }),
    );
    await pipeline.drain();

    // Assess
    expect(statusOf(7)).not.toBe("disabled");
    expect(await listHolds({ holds: pipeline.directory.holds })).toEqual([]);
    const approved = await decide("approved", "all");
    expect(approved.decided).toEqual([]);
  });

  it("counts each source's departures in its own window", async () => {
    // Prepare: the canonical source's window is full; a SCIM client provisioned someone else.
    await start({ maxPerWindow: 2 }, true);
    const scim = scimClient(pipeline.scimUrl ?? "");
    const created = await scim.call("POST", "/Users", entraUser("sam.scim@example.com"));
    await pipeline.drain();
    await pipeline.send(...range(0, 4).map(departure));
    await pipeline.drain();
    expect(disabled()).toHaveLength(2);

    // Act
    await scim.call("PATCH", `/Users/${created.body.id}`, {
      schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
      Operations: [{ op: "replace", path: "active", value: false }],
    });
    await pipeline.drain();

    // Assess
    expect(pipeline.tallyfy.memberByEmail("sam.scim@example.com")?.status).toBe("disabled");
  });
});
