/**
 * A held or kept departure leaves the person exactly as they are in Tallyfy (role and groups too,
 * whatever memberships the departure came with), and a decision ends when the person comes back:
 * leaving again, even before a reconcile reads the return, is a new departure for the brake.
 */
import { afterEach, describe, expect, it } from "vitest";
import { decideHolds, listHolds } from "../../cli/holds.js";
import { ReconcileQueue } from "../../handlers/runtime/queues.js";
import { DEFAULT_TEST_CONFIG, event, startPipeline, type TestPipeline } from "../../local/pipeline.js";
import { membersOf } from "../support/e2e.js";
import { entraUser, SCIM_TOKEN, scimClient } from "../support/scim.js";

let pipeline: TestPipeline;

afterEach(async () => {
  await pipeline?.stop();
});

const HOLD_ALL = { maxPerWindow: 0, maxShare: 0 };

function decide(state: "approved" | "rejected", emails: readonly string[] | "all") {
  const queue = new ReconcileQueue(pipeline.sqs, pipeline.queues.departures.url);
  return decideHolds(
    { holds: pipeline.directory.holds, reconcile: (messages) => queue.send(messages) },
    { state, by: "admin@example.com" },
    emails,
  );
}

/**
 * The source says the person is back, then that they left again, both merged before the person's
 * reconcile runs; then that reconcile is asked for, on the departures lane.
 */
async function comesBackAndLeaves(email: string): Promise<void> {
  const source = { id: "canonical" };
  const say = (id: string, time: string, type: "user.reactivated" | "user.deactivated") =>
    pipeline.directory.record({ id, time, type, user: { email } }, pipeline.config(), source);
  await say("back", "2026-12-01T10:00:00Z", "user.reactivated");
  const gone = await say("left", "2026-12-01T11:00:00Z", "user.deactivated");
  await pipeline.reconcileQueue.send([{ kind: "person", key: email, revision: gone.revision, urgent: true }]);
}

describe("a held departure", () => {
  it("keeps a SCIM-deleted person whose departure is held active with their role and groups", async () => {
    // Prepare: a SCIM-provisioned admin in Engineering; the brake holds every departure.
    pipeline = await startPipeline({
      config: { ...DEFAULT_TEST_CONFIG, departureBrake: HOLD_ALL },
      scim: { tokens: [SCIM_TOKEN] },
    });
    pipeline.tallyfy.addGroup({ name: "Engineering", description: "Engineering", members: [] });
    const scim = scimClient(pipeline.scimUrl ?? "");
    const user = await scim.call("POST", "/Users", entraUser("ada.held@example.com"));
    await scim.call("POST", "/Groups", { displayName: "Tallyfy Admins", members: [{ value: user.body.id }] });
    await scim.call("POST", "/Groups", { displayName: "Engineering", members: [{ value: user.body.id }] });
    await pipeline.drain();
    expect(pipeline.tallyfy.memberByEmail("ada.held@example.com")?.role).toBe("admin");
    expect(membersOf(pipeline.tallyfy, "Engineering")).toEqual(["ada.held@example.com"]);

    // Act: Entra deletes the user (a departure the brake holds).
    const deleted = await scim.call("DELETE", `/Users/${user.body.id}`);
    await pipeline.drain();

    // Assess: held, and (docs/configuration.md) "the person stays active in Tallyfy, with their
    // role and groups".
    expect(deleted.status).toBe(204);
    const held = await listHolds({ holds: pipeline.directory.holds });
    expect(held.map((h) => [h.email, h.hold.state])).toEqual([["ada.held@example.com", "held"]]);
    const member = pipeline.tallyfy.memberByEmail("ada.held@example.com");
    expect({
      disabled: member?.status === "disabled",
      role: member?.role,
      engineering: membersOf(pipeline.tallyfy, "Engineering"),
    }).toEqual({ disabled: false, role: "admin", engineering: ["ada.held@example.com"] });
  });

  it("brakes anew the departure of a rejected person who came back and left again before their reconcile", async () => {
    // Prepare: a departure held, then rejected by an administrator.
    pipeline = await startPipeline({ config: { ...DEFAULT_TEST_CONFIG, departureBrake: HOLD_ALL } });
    pipeline.tallyfy.addGroup({ name: "Engineering", description: "Engineering", members: [] });
    await pipeline.send(
      event("user.created", {
        user: { email: "rex@example.com", firstName: "R", lastName: "X", groups: ["Engineering"] },
      }),
    );
    await pipeline.drain();
    await pipeline.send(event("user.deactivated", { user: { email: "rex@example.com" } }));
    await pipeline.drain();
    const rejected = await decide("rejected", ["rex@example.com"]);
    await pipeline.drain();
    expect(rejected.decided).toEqual(["rex@example.com"]);

    // Act: the source reactivates the person, then they leave for real; both are merged before
    // the person's reconcile runs (the reactivation's reconcile waits behind joins on the
    // reconcile lane, the new departure goes on the departures lane).
    await comesBackAndLeaves("rex@example.com");
    await pipeline.drain();

    const person = await pipeline.directory.person("rex@example.com");
    // Assess: "only a new departure after the person is back is braked again": the new departure
    // is either applied or held for its own decision, never silently kept by the old rejection.
    const holds = await listHolds({ holds: pipeline.directory.holds });
    const disabled = pipeline.tallyfy.memberByEmail("rex@example.com")?.status === "disabled";
    const heldAgain = holds.some((h) => h.email === "rex@example.com" && h.hold.state === "held");
    expect(person?.status?.value).toBe("inactive");
    expect(
      disabled || heldAgain,
      `the new departure was neither applied nor held (hold state: ${person?.departureHold?.state})`,
    ).toBe(true);
  });
  it("does not apply, on an approval of an earlier hold, a new departure of a person who came back and left again", async () => {
    // Prepare: a departure held, then approved; its reconcile has not run yet.
    pipeline = await startPipeline({ config: { ...DEFAULT_TEST_CONFIG, departureBrake: HOLD_ALL } });
    await pipeline.send(
      event("user.created", { user: { email: "amy@example.com", firstName: "A", lastName: "M" } }),
    );
    await pipeline.drain();
    await pipeline.send(event("user.deactivated", { user: { email: "amy@example.com" } }));
    await pipeline.drain();
    const held = await listHolds({ holds: pipeline.directory.holds });
    const approvedV = held[0]?.hold.v;
    // The approval itself (no reconcile asked yet: the CLI's send is still to come).
    await pipeline.directory.holds.decide("amy@example.com", approvedV ?? "", {
      state: "approved",
      by: "admin@example.com",
      at: new Date().toISOString(),
    });

    // Act: the source says Amy is back, then that she left again; then the reconcile runs.
    await comesBackAndLeaves("amy@example.com");
    await pipeline.drain();

    // Assess: the approved departure ended when Amy came back; the new one is braked (every
    // departure is held here) and waits for its own decision.
    const person = await pipeline.directory.person("amy@example.com");
    expect(person?.status?.v).not.toBe(approvedV);
    expect({
      disabled: pipeline.tallyfy.memberByEmail("amy@example.com")?.status === "disabled",
      hold: person?.departureHold?.state,
    }).toEqual({ disabled: false, hold: "held" });
  });
});
