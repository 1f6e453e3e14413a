import { afterEach, describe, expect, it } from "vitest";
import { FakeOkta } from "../local/fakes/fake-okta.js";
import { localFullSync } from "../local/full-sync.js";
import { startPipeline, type TestPipeline } from "../local/pipeline.js";

let okta: FakeOkta | undefined;
let pipeline: TestPipeline | undefined;

afterEach(async () => {
  await pipeline?.stop();
  await okta?.stop();
});

const USERS = Number(process.env.SCALE_USERS ?? 20_000);
// No Okta group is mapped, so the listing reads pages only (a mapped group costs a read per user).
const CONFIG = { memberDomains: ["example.com"], okta: {} };

describe("full reconciliation at scale", () => {
  it("lists 20,000 users across several invocations, each within its time, within Okta's rate budget", async () => {
    // Prepare
    // Okta allows 60 requests a second here; the full sync takes half of it, as it would leave
    // the rest to the event hooks.
    okta = await FakeOkta.start({ rateLimit: { limit: 60, windowMs: 1_000 } });
    for (let n = 0; n < USERS; n++) {
      okta.addUser({
        login: `user${n}@example.com`,
        email: `user${n}@example.com`,
        firstName: "User",
        lastName: `N${n}`,
      });
    }
    pipeline = await startPipeline({ config: CONFIG });
    // The engine's clock moves a second for every page it reads from Okta, whatever the machine
    // is doing: whether an invocation stops in time is then the engine's property, not a race
    // with the test's host (wall-clock figures belong in the bench).
    const start = Date.now();
    const pageMs = 1_000;
    const fake = okta;
    const now = () => start + fake.requests.filter((r) => r.path === "/api/v1/users").length * pageMs;
    const fullSync = await localFullSync(pipeline, {
      config: CONFIG,
      okta: { fake: okta, pageSize: 200, requestsPerMinute: 30 * 60 },
      marginMs: 1_000,
      now,
    });
    const invocationMs = 8_000;

    // Act
    const steps = [];
    let runId: string | undefined;
    for (let i = 0; i < 100; i++) {
      const deadline = now() + invocationMs;
      const step = await fullSync.step({ runId }, deadline);
      steps.push({ ...step, deadline, ended: now() });
      runId = step.runId;
      if (step.done) break;
    }

    // Assess
    expect(steps.at(-1)?.done).toBe(true);
    // 100 pages at 1 s each, in invocations of 8 s less the 1 s margin.
    expect(steps.length).toBeGreaterThanOrEqual(Math.ceil(USERS / 200 / 7));
    for (const step of steps) expect(step.ended).toBeLessThanOrEqual(step.deadline);
    const report = await fullSync.lastReport();
    expect(report.sources.okta).toMatchObject({ listed: USERS, complete: true, changed: USERS });
    expect(okta.requests.filter((r) => r.status === 429)).toEqual([]);
    expect(okta.requests.filter((r) => r.path === "/api/v1/users")).toHaveLength(USERS / 200);
    expect((await pipeline.directory.person(`user${USERS - 1}@example.com`))?.provisioned).toBe(true);
  }, 300_000);
});
