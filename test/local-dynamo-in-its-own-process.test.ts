/**
 * The bench's DynamoDB: dynalite in a process of its own, so the directory's work is not charged
 * to the pipeline's one thread. It serves the directory as the in-process one does, counts its
 * operations, and ends with its parent's stop.
 */
import { describe, expect, it } from "vitest";
import { directoryFrom } from "../handlers/runtime/function-environment.js";
import { startLocalDynamo } from "../local/dynamodb.js";

describe("dynalite in its own process", () => {
  it("serves the directory, counts each operation and stops with its parent", async () => {
    // Prepare
    const dynamo = await startLocalDynamo(undefined, { process: "own" });
    const schedule = directoryFrom(dynamo.tableName, dynamo.client).schedule("tallyfy");

    // Act
    const first = await schedule.book(100, 5_000);
    const second = await schedule.book(100, 5_000);
    const operations = await dynamo.operations();
    const { items } = await dynamo.size();
    await dynamo.stop();
    const afterStop = await fetch(dynamo.endpoint).then(
      () => "answered",
      () => "gone",
    );

    // Assess
    expect([first, second]).toEqual([{ start: 5_000 }, { start: 5_100 }]);
    expect(operations.get("CreateTable")).toBe(1);
    expect(operations.get("UpdateItem")).toBeGreaterThanOrEqual(2);
    expect(items).toBe(1);
    expect(afterStop).toBe("gone");
  });
});
