/**
 * The Tallyfy client refuses a listing past its page limit rather than return part of it (a
 * pagination that never ends). The limit was 500 pages of 100: the full reconciliation of any
 * organization of more than 50,000 members failed on its members' listing, every run. The
 * largest organizations this is built for have 100,000.
 */
import { afterEach, describe, expect, it } from "vitest";
import { TallyfyClient } from "../../handlers/tallyfy/client.js";
import { StaticTokenSource } from "../../handlers/tallyfy/credentials.js";
import { FakeTallyfy } from "../../local/fakes/fake-tallyfy.js";

let tallyfy: FakeTallyfy | undefined;
afterEach(async () => {
  await tallyfy?.stop();
  tallyfy = undefined;
});

describe("the members of a large organization", () => {
  it("are listed whole past 50,000", async () => {
    // Prepare
    tallyfy = await FakeTallyfy.start();
    for (let n = 0; n < 50_100; n++) tallyfy.addMember({ email: `person${n}@example.com` });
    const client = new TallyfyClient({
      organizationId: tallyfy.organizationId,
      baseUrl: tallyfy.url,
      tokens: new StaticTokenSource("test-token"),
    });

    // Act
    const members = await client.members.list();

    // Assess
    expect(members).toHaveLength(50_100);
    expect(new Set(members.map((m) => m.email)).size).toBe(50_100);
  }, 120_000);
});
