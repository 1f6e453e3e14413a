/**
 * dynalite answers CreateTable while the table is still CREATING, as AWS does, and refuses every
 * item request until it is ACTIVE. A test's first booking once failed that way, so the local
 * DynamoDB returns only when its table is ACTIVE, whichever process serves it.
 */
import { afterEach, describe, expect, it } from "vitest";
import { directoryFrom } from "../handlers/runtime/function-environment.js";
import { type LocalDynamo, startLocalDynamo } from "../local/dynamodb.js";

let dynamo: LocalDynamo | undefined;
afterEach(async () => {
  await dynamo?.stop();
  dynamo = undefined;
});

describe("the local DynamoDB's table", () => {
  it.each(["this", "own"] as const)(
    "takes a booking at once after a slow creation, served in %s process",
    async (process) => {
      // Prepare: a table that stays CREATING for 300 ms
      dynamo = await startLocalDynamo(undefined, { process, createTableMs: 300 });
      const schedule = directoryFrom(dynamo.tableName, dynamo.client).schedule("tallyfy");

      // Act
      const booking = await schedule.book(100, 5_000);

      // Assess
      expect(booking).toEqual({ start: 5_000 });
    },
  );
});
