/**
 * A hydrating source's event says nothing itself: its data is what the source answered when it
 * was read. So the fresher read wins, whatever the order the events were published in: an Okta
 * event published earlier but read later (a hook delivered late) is not beaten by a newer
 * event's older read.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeOkta } from "../../local/fakes/fake-okta.js";
import { ACME, ACME_CONFIG, seedAcme } from "../../local/fakes/okta-directory.js";
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

/** Okta's profile-update hook for Alice, published at `published` with its own uuid. */
function profileUpdate(published: string, uuid: string): string {
  return readFileSync(path.join(fixtures, "okta-event-hook/user-account-update-profile.json"), "utf8")
    .replace("2024-09-12T10:11:58.264Z", published)
    .replace("0a1b2c3d-6b8c-11ef-9e0f-0242ac120002", uuid);
}

describe("two Okta events about one user, delivered out of order", () => {
  it("end with what Okta said at the later read, not what the later-published event read earlier", async () => {
    // Prepare
    const alice = okta.users.get(ACME.alice);
    if (!alice) throw new Error("no Alice in the fake Okta");
    const now = Date.now();
    const newer = new Date(now - 60_000).toISOString();
    const older = new Date(now - 120_000).toISOString();
    alice.profile.title = "Engineer";

    // Act: the newer event is read first; Okta changes; the older event is read last.
    await pipeline.send(profileUpdate(newer, "0a1b2c3d-0000-11ef-9e0f-000000000002"));
    await pipeline.drain();
    const first = pipeline.tallyfy.memberByEmail("alice.nguyen@example.com")?.job_title;
    alice.profile.title = "Principal Engineer";
    await pipeline.send(profileUpdate(older, "0a1b2c3d-0000-11ef-9e0f-000000000001"));
    await pipeline.drain();

    // Assess
    expect(first).toBe("Engineer");
    expect(pipeline.tallyfy.memberByEmail("alice.nguyen@example.com")?.job_title).toBe("Principal Engineer");
  });
});
