/**
 * A departure the full reconciliation infers from a complete listing is always carried out, and
 * only within each source's own share: the member is found by the id the sync recorded (an
 * administrator may have changed their email in Tallyfy, as the EmailChangeError letter asks), and
 * a source whose listing drops most of its own people is held however many people other sources
 * manage.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeOkta } from "../../local/fakes/fake-okta.js";
import { ACME, ACME_CONFIG, seedAcme } from "../../local/fakes/okta-directory.js";
import { localFullSync } from "../../local/full-sync.js";
import { startPipeline, type TestPipeline } from "../../local/pipeline.js";
import { entraUser, SCIM_TOKEN, scimClient } from "../support/scim.js";

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

describe("a departure inferred by the full reconciliation", () => {
  it("disables the member whose email an administrator changed in Tallyfy, found by the member id the sync recorded", async () => {
    // Prepare: Okta's two people are provisioned by a first run.
    pipeline = await startPipeline({ config: ACME_CONFIG, okta: { fake: okta } });
    const fullSync = await localFullSync(pipeline, {
      config: ACME_CONFIG,
      okta: { fake: okta },
      maxDepartureShare: 0.5,
    });
    await fullSync.run();
    await pipeline.drain();
    const dev = pipeline.tallyfy.memberByEmail("dev.patel@example.com");
    if (!dev) throw new Error("the first run did not provision Dev");
    // Dev's email changed at Okta; the admin changed it in Tallyfy too, as the dead letter says.
    dev.email = "dev.patel@corp.example.com";
    // Then Dev is deleted at Okta, and that event is lost.
    okta.deleteUser(ACME.dev);

    // Act
    await fullSync.run();
    await pipeline.drain();

    // Assess
    expect(pipeline.tallyfy.members.get(dev.id)?.status).toBe("disabled");
    expect(pipeline.tallyfy.memberByEmail("alice.nguyen@example.com")?.status).not.toBe("disabled");
  });

  it("is held when one source's listing drops its own people, however many people other sources manage", async () => {
    // Prepare: four people provisioned through SCIM, two through Okta; a share of a half.
    pipeline = await startPipeline({
      config: ACME_CONFIG,
      okta: { fake: okta },
      scim: { tokens: [SCIM_TOKEN] },
    });
    const scim = scimClient(pipeline.scimUrl ?? "");
    for (const name of ["sam.one", "sam.two", "sam.three", "sam.four"]) {
      await scim.call("POST", "/Users", entraUser(`${name}@example.com`));
    }
    await pipeline.drain();
    const fullSync = await localFullSync(pipeline, {
      config: ACME_CONFIG,
      okta: { fake: okta },
      maxDepartureShare: 0.5,
    });
    await fullSync.run();
    await pipeline.drain();
    // Okta's listing drops both of its people (a wrong group rule, an unassigned app).
    okta.deleteUser(ACME.alice);
    okta.deleteUser(ACME.dev);

    // Act
    await fullSync.run();
    await pipeline.drain();

    // Assess: 2 of Okta's 2 is over its half, though 2 of all 6 is not.
    const report = await fullSync.lastReport();
    expect(report.stopped?.reason).toMatch(/okta/);
    expect(pipeline.tallyfy.memberByEmail("alice.nguyen@example.com")?.status).not.toBe("disabled");
    expect(pipeline.tallyfy.memberByEmail("dev.patel@example.com")?.status).not.toBe("disabled");
  });
});
