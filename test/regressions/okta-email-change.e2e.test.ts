/**
 * Regressions found by attacking the Okta email change: the README tells the administrator to change the member's
 * email in Tallyfy by hand; what does the sync do next?
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
});

afterEach(async () => {
  await pipeline?.stop();
  await okta.stop();
});

/** An Okta Event Hook body: user.account.update_profile for Alice, with its own uuid and time. */
function profileUpdated(uuid: string, published: string, eventType = "user.account.update_profile"): string {
  const body = JSON.parse(
    readFileSync(path.join(fixtures, "okta-event-hook/user-account-update-profile.json"), "utf8"),
  );
  body.data.events[0].uuid = uuid;
  body.data.events[0].published = published;
  body.data.events[0].eventType = eventType;
  return JSON.stringify(body);
}

describe("an Okta email change, after the administrator follows the README", () => {
  it("no second invitation goes to the old address once the member's email was changed in Tallyfy", async () => {
    // Prepare
    pipeline = await startPipeline({ config: ACME_CONFIG, okta: { fake: okta } });
    pipeline.tallyfy.addGroup({ name: "Engineering" });
    await pipeline.send(profileUpdated("11111111-0000-4000-8000-000000000001", "2026-11-23T10:00:00.000Z"));
    await pipeline.drain();
    const invited = pipeline.tallyfy.memberByEmail("alice.nguyen@example.com");
    const alice = okta.users.get(ACME.alice);
    if (!alice || !invited) throw new Error("Alice was not set up");
    alice.profile.email = "alice.ng@example.com";
    alice.profile.login = "alice.ng@example.com";
    await pipeline.send(profileUpdated("11111111-0000-4000-8000-000000000002", "2026-11-23T10:01:00.000Z"));
    await pipeline.drain();
    const letters = await pipeline.deadLetters("ingest");
    // README: "change the member's email in Tallyfy by hand and delete the letter".
    invited.email = "alice.ng@example.com";

    // Act: Alice's title changes in Okta later.
    alice.profile.title = "Principal Engineer";
    await pipeline.send(profileUpdated("11111111-0000-4000-8000-000000000003", "2026-11-23T10:02:00.000Z"));
    await pipeline.drain();

    // Assess
    expect(letters.map((l) => l.errorType)).toEqual(["EmailChangeError"]);
    const alices = [...pipeline.tallyfy.members.values()].filter((m) => m.first_name === "Alice");
    expect(alices.map((m) => m.email)).toEqual(["alice.ng@example.com"]);
  });

  it("a departure in Okta after that disables the member under the new address", async () => {
    // Prepare
    pipeline = await startPipeline({ config: ACME_CONFIG, okta: { fake: okta } });
    pipeline.tallyfy.addGroup({ name: "Engineering" });
    await pipeline.send(profileUpdated("22222222-0000-4000-8000-000000000001", "2026-11-23T10:00:00.000Z"));
    await pipeline.drain();
    const invited = pipeline.tallyfy.memberByEmail("alice.nguyen@example.com");
    const alice = okta.users.get(ACME.alice);
    if (!alice || !invited) throw new Error("Alice was not set up");
    alice.profile.email = "alice.ng@example.com";
    alice.profile.login = "alice.ng@example.com";
    await pipeline.send(profileUpdated("22222222-0000-4000-8000-000000000002", "2026-11-23T10:01:00.000Z"));
    await pipeline.drain();
    invited.email = "alice.ng@example.com";

    // Act: Alice is suspended in Okta.
    alice.status = "SUSPENDED";
    await pipeline.send(
      profileUpdated(
        "22222222-0000-4000-8000-000000000003",
        "2026-11-23T10:02:00.000Z",
        "user.lifecycle.suspend",
      ),
    );
    await pipeline.drain();

    // Assess
    expect(pipeline.tallyfy.memberByEmail("alice.ng@example.com")?.status).toBe("disabled");
  });
});
