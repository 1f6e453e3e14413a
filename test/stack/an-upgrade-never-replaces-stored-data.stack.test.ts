/**
 * Deploying this version over a stack of the last release keeps the directory, the queues, the
 * secrets, the report bucket, the bus, the alarm topic and the endpoints: none is deleted or
 * replaced (test/stack/last-release.ts says which properties replace each).
 */
import fs from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { synthFullFeatured } from "./full-featured.js";
import { type StatefulResource, statefulResources, upgradeProblems } from "./last-release.js";

const release = JSON.parse(
  fs.readFileSync(new URL("./last-release.json", import.meta.url), "utf8"),
) as Record<string, StatefulResource>;
let current: Record<string, StatefulResource>;

beforeAll(() => {
  current = statefulResources(synthFullFeatured());
});

/** The id of the one resource of `type` whose logical id starts with `prefix`. */
function idOf(resources: Record<string, StatefulResource>, type: string, prefix: string): string {
  const ids = Object.keys(resources).filter((id) => resources[id]?.type === type && id.startsWith(prefix));
  if (ids.length !== 1) throw new Error(`expected one ${type} named ${prefix}*, found ${ids.join(", ")}`);
  return ids[0] as string;
}

describe("an upgrade from the last release", () => {
  it("replaces and deletes nothing that holds data or is known by name", () => {
    // Act
    const problems = upgradeProblems(release, current);

    // Assess
    expect(Object.keys(release).length).toBeGreaterThan(20);
    expect(problems).toEqual([]);
  });

  it("is refused when the directory's key schema changes", () => {
    // Prepare
    const table = idOf(current, "AWS::DynamoDB::Table", "SyncDirectory");
    const changed = structuredClone(current);
    const before = changed[table] as StatefulResource;
    changed[table] = {
      ...before,
      properties: { ...before.properties, KeySchema: [{ AttributeName: "id", KeyType: "HASH" }] },
    };

    // Act
    const problems = upgradeProblems(release, changed);

    // Assess
    expect(problems).toEqual([
      expect.stringMatching(new RegExp(`^${table} KeySchema changed from .*: an upgrade would replace it$`)),
    ]);
  });

  it("is refused when the reconcile queue's logical id changes", () => {
    // Prepare
    const queue = idOf(current, "AWS::SQS::Queue", "SyncCommandsQueue");
    const { [queue]: moved, ...rest } = current;
    const changed = { ...rest, SyncReconcileQueueRenamed: moved as StatefulResource };

    // Act
    const problems = upgradeProblems(release, changed);

    // Assess
    expect(problems).toEqual([`${queue} (AWS::SQS::Queue) is gone: an upgrade would delete it`]);
  });

  it("is refused when the directory would no longer be retained", () => {
    // Prepare
    const table = idOf(current, "AWS::DynamoDB::Table", "SyncDirectory");
    const changed = structuredClone(current);
    changed[table] = { ...(changed[table] as StatefulResource), deletionPolicy: "Delete" };

    // Act
    const problems = upgradeProblems(release, changed);

    // Assess
    expect(problems).toEqual([
      `${table} deletionPolicy is no longer Retain: its data would go with the stack`,
    ]);
  });
});
