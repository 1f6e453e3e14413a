/**
 * Attacks on the directory's idpgroup index, and on changes that end neither applied nor dead-lettered.
 */
import { GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_TEST_CONFIG, startPipeline, type TestPipeline } from "../../local/pipeline.js";

let pipeline: TestPipeline;

afterEach(async () => {
  await pipeline.stop();
});

let sequence = 0;
function at(minute: number, type: string, fields: Record<string, unknown>): Record<string, unknown> {
  sequence++;
  const time = new Date(Date.UTC(2026, 10, 23, 10, minute, sequence % 60)).toISOString();
  return { id: `attack-scale-${sequence}`, type, time, source: "test", ...fields };
}

describe("the idpgroup index of a large organization", () => {
  it("a new hire is onboarded when everyone else's full group list already marked them absent from Partners", async () => {
    // Prepare: ~21,000 people each sent a full groups list once (as every Okta event does); a full
    // list marks every configured group not listed as absent, and every absent membership is
    // indexed, so `idpgroup#partners` names all of them although nobody is in Partners.
    pipeline = await startPipeline();
    pipeline.tallyfy.addGroup({ name: "Engineering" });
    pipeline.tallyfy.addGroup({ name: "Partners" });
    // One real person, in no group at all, lands in Partners' index:
    await pipeline.send(at(0, "user.updated", { user: { email: "p000000@example.com", groups: [] } }));
    await pipeline.drain();
    const indexed = await pipeline.dynamo.client.send(
      new GetItemCommand({ TableName: pipeline.dynamo.tableName, Key: { pk: { S: "idpgroup#partners" } } }),
    );
    expect(indexed.Item?.emails?.SS).toEqual(["p000000@example.com"]);
    // ... and so would each of the others: write the index as ~21,500 such people leave it.
    const emails: string[] = [];
    let bytes = "pk".length + "idpgroup#partners".length + "emails".length;
    for (let i = 0; bytes < 409_600 - 12; i++) {
      const email = `p${String(i).padStart(6, "0")}@example.com`;
      emails.push(email);
      bytes += email.length;
    }
    await pipeline.dynamo.client.send(
      new PutItemCommand({
        TableName: pipeline.dynamo.tableName,
        Item: { pk: { S: "idpgroup#partners" }, emails: { SS: emails } },
      }),
    );

    // Act
    await pipeline.send(
      at(1, "user.created", {
        user: {
          email: "new.hire.person@example.com",
          firstName: "New",
          lastName: "Hire",
          groups: ["Engineering"],
        },
      }),
    );
    await pipeline.drain();

    // Assess
    const letters = await pipeline.deadLetters("ingest");
    expect(letters.map((l) => `${l.errorType}: ${l.errorMessage}`)).toEqual([]);
    expect(pipeline.tallyfy.memberByEmail("new.hire.person@example.com")?.status).toBe("invited");
  });
});

describe("a reactivation after deprovision remove", () => {
  it("a member this sync removed comes back, or the reason lands in a dead-letter queue", async () => {
    // Prepare
    pipeline = await startPipeline({ config: { ...DEFAULT_TEST_CONFIG, deprovision: "remove" } });
    pipeline.tallyfy.addMember({ email: "alice@example.com", first_name: "Alice", last_name: "Ng" });
    await pipeline.send(at(1, "user.deactivated", { user: { email: "alice@example.com" } }));
    await pipeline.drain();
    const removed = pipeline.tallyfy.memberByEmail("alice@example.com") === undefined;

    // Act
    await pipeline.send(at(2, "user.reactivated", { user: { email: "alice@example.com" } }));
    await pipeline.drain();

    // Assess
    const back = pipeline.tallyfy.memberByEmail("alice@example.com") !== undefined;
    const letters = await pipeline.deadLetters("commands");
    expect(removed).toBe(true);
    expect({ back, deadLettered: letters.length > 0 }).not.toEqual({ back: false, deadLettered: false });
  });
});
