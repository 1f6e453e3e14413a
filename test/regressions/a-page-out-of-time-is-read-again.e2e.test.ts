/**
 * A full reconciliation's listing page can take longer than an invocation has left: Okta is read
 * again for each user's app assignment and groups, so a page of 200 takes hundreds of calls. Such
 * a page failed the whole listing ("no time left before the deadline"), and with it every
 * departure the run would infer, on every run of a large Okta org. The next invocation reads the
 * page again; only a page that outlasts a whole invocation twice fails the listing.
 *
 * The run's clock moves 150 ms for every request Okta answers, whatever the machine is doing.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeOkta } from "../../local/fakes/fake-okta.js";
import { ACME, ACME_CONFIG, seedAcme } from "../../local/fakes/okta-directory.js";
import { localFullSync } from "../../local/full-sync.js";
import { startPipeline, type TestPipeline } from "../../local/pipeline.js";

let okta: FakeOkta;
let pipeline: TestPipeline;

beforeEach(async () => {
  okta = await FakeOkta.start();
  seedAcme(okta);
  for (let n = 0; n < 6; n++) {
    const user = okta.addUser({
      login: `staff${n}@example.com`,
      email: `staff${n}@example.com`,
      firstName: "Staff",
      lastName: `N${n}`,
    });
    okta.assignApp(ACME.appId, user.id);
  }
  pipeline = await startPipeline({ config: ACME_CONFIG, okta: { fake: okta } });
});

afterEach(async () => {
  await pipeline.stop();
  await okta.stop();
});

/** Runs the full sync in invocations of `invocationMs` on the Okta-driven clock, until done. */
async function runIn(invocationMs: number) {
  const start = Date.now();
  const fake = okta;
  const now = () => start + fake.requests.length * 150;
  const fullSync = await localFullSync(pipeline, {
    config: ACME_CONFIG,
    okta: { fake: okta, pageSize: 3 },
    marginMs: 0,
    now,
  });
  const steps = [];
  let runId: string | undefined;
  for (let i = 0; i < 50; i++) {
    const step = await fullSync.step({ runId }, now() + invocationMs);
    steps.push(step);
    runId = step.runId;
    if (step.done) break;
  }
  return { steps, report: await fullSync.lastReport() };
}

describe("a listing page that runs out of an invocation's time", () => {
  it("is read again by the next invocation, and the listing completes", async () => {
    // Act: a page of 3 costs about 7 requests (1 s); an invocation has 1.6 s
    const { steps, report } = await runIn(1_600);

    // Assess
    expect(steps.at(-1)?.done).toBe(true);
    expect(report.sources.okta).toMatchObject({ complete: true });
    expect(report.sources.okta?.error).toBeUndefined();
    // Read twice: once cut short, once whole.
    expect(okta.requests.filter((r) => r.path === "/api/v1/users").length).toBeGreaterThan(steps.length - 1);
  });

  it("fails the listing when it outlasts a whole invocation twice, inferring no departure", async () => {
    // Act: an invocation has 0.6 s, less than any page takes
    const { steps, report } = await runIn(600);

    // Assess
    expect(steps.at(-1)?.done).toBe(true);
    expect(report.sources.okta).toMatchObject({ complete: false });
    expect(report.sources.okta?.error).toMatch(/no time left before the deadline/);
    expect(report.counts.departures).toBe(0);
  });
});
