/**
 * The directory's idpgroup index stays within DynamoDB's limits at scale, and no change ends neither
 * applied nor dead-lettered.
 */
import { BatchWriteCommand, DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterEach, describe, expect, it } from "vitest";
import { Directory } from "../../handlers/directory/directory.js";
import { DEFAULT_TEST_CONFIG, startPipeline, type TestPipeline } from "../../local/pipeline.js";
import { eventsAt } from "../support/e2e.js";

let pipeline: TestPipeline;

afterEach(async () => {
  await pipeline.stop();
});

const at = eventsAt("attack-scale");

describe("the idpgroup index of a large organization", () => {
  it("a new hire is onboarded, and a group's reconcile reads everyone, however many the index names", async () => {
    // Prepare: Partners' index names 2,000 people (everyone who was ever in it). Once the index was
    // one item, which overflowed DynamoDB's 400 KB at about 21,500 people; now it is an item each.
    pipeline = await startPipeline();
    pipeline.tallyfy.addGroup({ name: "Engineering" });
    pipeline.tallyfy.addGroup({ name: "Partners" });
    await pipeline.send(at(0, "user.updated", { user: { email: "p000000@example.com", groups: [] } }));
    await pipeline.drain();
    const people = 2_000;
    const items = Array.from(
      { length: people },
      (_, i) => `p${String(i + 1).padStart(6, "0")}@example.com`,
    ).flatMap((email) => [
      { pk: "idpgroup#partners", sk: email },
      { pk: `person#${email}`, sk: "-", email, address: email, profile: {}, memberships: {}, revision: 1 },
    ]);
    const db = DynamoDBDocumentClient.from(pipeline.dynamo.client);
    for (let start = 0; start < items.length; start += 25) {
      await db.send(
        new BatchWriteCommand({
          RequestItems: {
            [pipeline.dynamo.tableName]: items
              .slice(start, start + 25)
              .map((Item) => ({ PutRequest: { Item } })),
          },
        }),
      );
    }

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
    const read = await new Directory(db, pipeline.dynamo.tableName, 100).membersOfIdpGroups(["Partners"]);

    // Assess
    const letters = await pipeline.deadLetters("ingest");
    expect(letters.map((l) => `${l.errorType}: ${l.errorMessage}`)).toEqual([]);
    expect(pipeline.tallyfy.memberByEmail("new.hire.person@example.com")?.status).toBe("invited");
    // The 2,000 written, over 20 pages of 100; the two real people were never in Partners, and an
    // absence is indexed only once the person was present (group-scale.e2e.test.ts).
    expect(read).toHaveLength(people);
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
    const letters = await pipeline.deadLetters("reconcile");
    expect(removed).toBe(true);
    expect({ back, deadLettered: letters.length > 0 }).not.toEqual({ back: false, deadLettered: false });
  });
});
