/**
 * A page of a full reconciliation's listing is what the source said when the page was read, so it
 * is versioned then, not at the run's start: a page read long after the run began wins over an
 * event read before it, and repairs a change whose own event was lost.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeOkta } from "../../local/fakes/fake-okta.js";
import { ACME, ACME_CONFIG, seedAcme } from "../../local/fakes/okta-directory.js";
import { localFullSync } from "../../local/full-sync.js";
import { startPipeline, type TestPipeline } from "../../local/pipeline.js";

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures");

let okta: FakeOkta;
let pipeline: TestPipeline;

beforeEach(async () => {
  okta = await FakeOkta.start();
  seedAcme(okta);
  pipeline = await startPipeline({ config: ACME_CONFIG, okta: { fake: okta } });
});

afterEach(async () => {
  await pipeline.stop();
  await okta.stop();
});

describe("a listing page read after an event", () => {
  it("wins over the event's older read, and repairs a change whose event was lost", async () => {
    // Prepare: the run's clock moves a second a page; an invocation lists one page, then stops.
    const start = Date.now();
    const fake = okta;
    const now = () => start + fake.requests.filter((r) => r.path === "/api/v1/users").length * 1_000;
    const fullSync = await localFullSync(pipeline, {
      config: ACME_CONFIG,
      okta: { fake: okta, pageSize: 1 },
      marginMs: 0,
      now,
    });
    const dev = okta.users.get(ACME.dev);
    if (!dev) throw new Error("no Dev in the fake Okta");
    const first = await fullSync.step({}, now() + 1_000);
    // An Okta hook about Dev is read now (title "Mid"); then Dev's title changes and that hook is lost.
    dev.profile.title = "Mid";
    await pipeline.send(
      readFileSync(path.join(fixtures, "okta-event-hook/user-account-update-profile.json"), "utf8")
        .replaceAll(ACME.alice, ACME.dev)
        .replaceAll("alice.nguyen@example.com", "dev.patel@example.com"),
    );
    await pipeline.drain();
    dev.profile.title = "New";

    // Act: the rest of the run reads Dev's page.
    let step = first;
    while (!step.done) step = await fullSync.step({ runId: step.runId }, now() + 60_000);
    await pipeline.drain();

    // Assess
    expect(first.done).toBe(false);
    expect(pipeline.tallyfy.memberByEmail("dev.patel@example.com")?.job_title).toBe("New");
  });
});
