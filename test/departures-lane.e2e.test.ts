/**
 * The departures lane: a change that takes access away (a departure, a demotion from admin) is
 * reconciled on its own queue, so it never waits behind a backlog of joins; and a person is never
 * reconciled on both lanes at once, so neither lane can undo the other.
 */
import { afterEach, describe, expect, it } from "vitest";
import { buildReconciler } from "../handlers/runtime/apply-environment.js";
import { TallyfyClient } from "../handlers/tallyfy/client.js";
import { StaticTokenSource } from "../handlers/tallyfy/credentials.js";
import { DEFAULT_TEST_CONFIG, event, startPipeline, type TestPipeline } from "../local/pipeline.js";

let pipeline: TestPipeline;

afterEach(async () => {
  await pipeline?.stop();
});

const hire = (i: number) =>
  event("user.created", { user: { email: `hire${i}@example.com`, firstName: "H", lastName: String(i) } });

describe("the departures lane", () => {
  it("disables a leaver while a backlog of joins still waits", async () => {
    // Prepare: an admin and a leaver are in Tallyfy; 150 hires queue up behind one apply poller,
    // which books its requests on the schedule both lanes share, as deployed.
    pipeline = await startPipeline({
      config: DEFAULT_TEST_CONFIG,
      tallyfy: { latencyMs: 15 },
      tallyfyRequestsPerMinute: 6_000,
    });
    await pipeline.send(
      event("user.created", {
        user: { email: "leaver@example.com", firstName: "L", lastName: "V", groups: ["Tallyfy Admins"] },
      }),
      event("user.created", {
        user: { email: "boss@example.com", firstName: "B", lastName: "S", groups: ["Tallyfy Admins"] },
      }),
    );
    await pipeline.drain();
    await pipeline.send(...Array.from({ length: 150 }, (_, i) => hire(i)));

    // Act
    await pipeline.send(
      event("user.deactivated", { user: { email: "leaver@example.com" } }),
      event("user.updated", { user: { email: "boss@example.com", groups: ["Staff"] } }),
    );
    await pipeline.drain(120_000);

    // Assess: both were written before half the hires were invited.
    const requests = pipeline.tallyfy.requests;
    const leaver = pipeline.tallyfy.memberByEmail("leaver@example.com");
    const boss = pipeline.tallyfy.memberByEmail("boss@example.com");
    const disabledAt = requests.findIndex((r) => r.path.endsWith(`/users/${leaver?.id}/disable`));
    const demotedAt = requests.findIndex(
      (r) => r.method === "PUT" && r.path.endsWith(`/users/${boss?.id}/role`),
    );
    const invites = requests
      .map((r, index) => ({ r, index }))
      .filter(({ r }) => r.path.endsWith("/users/invite"));
    const halfway = invites[Math.floor(invites.length / 2)]?.index ?? 0;
    expect(leaver?.status).toBe("disabled");
    expect(boss?.role).toBe("standard");
    expect(invites).toHaveLength(152);
    expect(disabledAt).toBeGreaterThan(-1);
    expect(disabledAt).toBeLessThan(halfway);
    expect(demotedAt).toBeGreaterThan(-1);
    expect(demotedAt).toBeLessThan(halfway);
  });

  it("never lets a reconcile of an older revision on one lane undo a departure made on the other", async () => {
    // Prepare: a disabled member comes back (revision 1 on the reconcile lane, whose read of
    // Tallyfy is slow), then leaves again before that reconcile finishes (the departures lane).
    pipeline = await startPipeline({ config: { ...DEFAULT_TEST_CONFIG, departureBrake: false } });
    const member = pipeline.tallyfy.addMember({
      email: "yo@example.com",
      first_name: "Yo",
      last_name: "Yo",
      status: "disabled",
    });
    const lane = () =>
      buildReconciler({
        config: pipeline.config(),
        client: new TallyfyClient({
          organizationId: pipeline.tallyfy.organizationId,
          baseUrl: pipeline.tallyfy.url,
          tokens: new StaticTokenSource("test-token"),
        }),
        directory: pipeline.directory,
        queue: pipeline.reconcileQueue,
      });
    const back = await pipeline.directory.record(
      {
        id: "back",
        type: "user.reactivated",
        time: "2026-11-23T10:00:00Z",
        user: { email: "yo@example.com", firstName: "Yo", lastName: "Yo" },
      },
      pipeline.config(),
      { id: "canonical" },
    );
    pipeline.tallyfy.inject({
      method: "GET",
      path: `/organizations/org-fake/users/${member.id}`,
      times: 1,
      delayMs: 600,
    });

    // Act
    const slow = lane().reconcile(
      { kind: "person", key: "yo@example.com", revision: back.revision },
      Date.now() + 5_000,
    );
    // Once its slow read of the member is in flight (the fake records a request as it arrives):
    // the departure is merged while that reconcile holds what it read before.
    while (
      !pipeline.tallyfy.requests.some((r) => r.method === "GET" && r.path.endsWith(`/users/${member.id}`))
    )
      await new Promise((resolve) => setTimeout(resolve, 5));
    const gone = await pipeline.directory.record(
      {
        id: "gone",
        type: "user.deactivated",
        time: "2026-11-23T10:01:00Z",
        user: { email: "yo@example.com" },
      },
      pipeline.config(),
      { id: "canonical" },
    );
    const fast = lane().reconcile(
      { kind: "person", key: "yo@example.com", revision: gone.revision },
      Date.now() + 5_000,
    );
    await Promise.all([slow, fast]);

    // Assess
    expect(pipeline.tallyfy.members.get(member.id)?.status).toBe("disabled");
  });
});
