/**
 * Keys and names that come from identity providers never index a plain object: a body holding a
 * key that names a prototype is dead-lettered with that reason (whatever the source), and an IdP
 * group called `constructor`, `toString` or `__proto__` is a group like any other, recorded,
 * reconciled and taken out again.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import {
  DEFAULT_TEST_CONFIG,
  event,
  startPipeline,
  type TestPipeline,
  totals,
} from "../../local/pipeline.js";
import { expectConserved, membersOf } from "../support/e2e.js";

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures");

let pipeline: TestPipeline;

afterEach(async () => {
  for (const tally of [...pipeline.tallies.ingest, ...pipeline.tallies.apply]) expectConserved(tally);
  await pipeline.stop();
});

describe("a queued body nested past any identity provider's", () => {
  it("is dead-lettered with that reason, not left to overflow a walk of it", async () => {
    // Prepare
    pipeline = await startPipeline();
    const deep = `${"[".repeat(50_000)}1${"]".repeat(50_000)}`;
    const body = JSON.stringify(
      event("user.created", { user: { email: "lee@example.com", firstName: "Lee", lastName: "Oh" } }),
    ).replace(/}$/, `,"extra":${deep}}`);

    // Act
    await pipeline.send(body);
    await pipeline.drain();

    // Assess
    const letters = await pipeline.deadLetters("ingest");
    expect(letters.map((l) => l.errorType)).toEqual(["InvalidEventError"]);
    expect(letters[0]?.errorMessage).toMatch(/nested deeper than 32 levels/);
    expect(pipeline.tallyfy.memberByEmail("lee@example.com")).toBeUndefined();
  });
});

describe("a queued body with a key that names a prototype", () => {
  it.each([
    [
      "a canonical event",
      JSON.stringify(
        event("user.created", { user: { email: "ivy@example.com", firstName: "Ivy", lastName: "Lo" } }),
      ).replace('"user":{', '"user":{"__proto__":{"role":"admin"},'),
    ],
    [
      "an Okta Event Hook body",
      readFileSync(path.join(fixtures, "okta-event-hook/user-lifecycle-create.json"), "utf8").replace(
        '"debugContext": {',
        '"debugContext": {"constructor": {"prototype": {"role": "admin"}},',
      ),
    ],
  ])("(%s) is dead-lettered with that reason, and the rest of its batch applies", async (_, body) => {
    // Prepare
    pipeline = await startPipeline();
    const before = Object.getOwnPropertyNames(Object.prototype).sort();

    // Act
    await pipeline.send(
      body,
      event("user.created", { user: { email: "jo@example.com", firstName: "Jo", lastName: "Ma" } }),
    );
    await pipeline.drain();

    // Assess
    const letters = await pipeline.deadLetters("ingest");
    expect(letters.map((l) => l.errorType)).toEqual(["InvalidEventError"]);
    expect(letters[0]?.errorMessage).toMatch(/names a prototype/);
    expect(pipeline.tallyfy.memberByEmail("jo@example.com")).toBeDefined();
    expect(pipeline.tallyfy.memberByEmail("ivy@example.com")).toBeUndefined();
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(before);
  });
});

describe("an IdP group whose name is an Object.prototype key", () => {
  const config = {
    ...DEFAULT_TEST_CONFIG,
    roles: { admin: ["__proto__"], standard: [], light: [] },
    groups: { constructor: "Engineering", ToString: "Sales" },
  };

  it("is recorded and reconciled like any other, and leaving it is applied too", async () => {
    // Prepare
    pipeline = await startPipeline({ config });
    pipeline.tallyfy.addGroup({ name: "Engineering" });
    pipeline.tallyfy.addGroup({ name: "Sales" });
    const kai = { email: "kai@example.com", firstName: "Kai", lastName: "Re" };

    // Act
    await pipeline.send(
      event("user.created", { user: { ...kai, groups: ["constructor", "toString", "__PROTO__"] } }),
    );
    await pipeline.drain();
    const joined = {
      role: pipeline.tallyfy.memberByEmail("kai@example.com")?.role,
      engineering: membersOf(pipeline.tallyfy, "Engineering"),
      sales: membersOf(pipeline.tallyfy, "Sales"),
    };
    await pipeline.send(event("user.updated", { user: { ...kai, groups: [] } }));
    await pipeline.drain();

    // Assess
    expect(joined).toEqual({ role: "admin", engineering: ["kai@example.com"], sales: ["kai@example.com"] });
    expect(pipeline.tallyfy.memberByEmail("kai@example.com")?.role).toBe("standard");
    expect(membersOf(pipeline.tallyfy, "Engineering")).toEqual([]);
    expect(membersOf(pipeline.tallyfy, "Sales")).toEqual([]);
    expect(totals(pipeline.tallies.ingest)).toMatchObject({ deadLettered: 0 });
  });
});
