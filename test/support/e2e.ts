/** What the end-to-end tests share: events at a minute, waiting for a condition, reading groups, conservation. */
import { expect } from "vitest";
import type { BatchTally } from "../../handlers/runtime/batch.js";
import type { FakeTallyfy } from "../../local/fakes/fake-tallyfy.js";

/** Canonical events at `minute` past 10:00 on 23 November 2026, with ids `<prefix>-<n>`. */
export function eventsAt(
  prefix: string,
): (minute: number, type: string, fields: Record<string, unknown>) => Record<string, unknown> {
  let sequence = 0;
  return (minute, type, fields) => {
    sequence++;
    const time = new Date(Date.UTC(2026, 10, 23, 10, minute, sequence % 60)).toISOString();
    return { id: `${prefix}-${sequence}`, type, time, source: "test", ...fields };
  };
}

/** Waits until `condition` holds, polling; fails the test after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error("condition not reached in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The emails of a fake Tallyfy group's members, sorted. */
export function membersOf(tallyfy: FakeTallyfy, name: string): string[] {
  const group = tallyfy.groupByName(name);
  return (group?.members ?? []).map((id) => tallyfy.members.get(id)?.email ?? `#${id}`).sort();
}

/** True when every record of the batch ended in exactly one outcome. */
export function isConserved(tally: BatchTally): boolean {
  return tally.applied + tally.noop + tally.ignored + tally.deadLettered + tally.retried === tally.received;
}

/** Every record of a batch ends in exactly one outcome. */
export function expectConserved(tally: BatchTally): void {
  expect(isConserved(tally), JSON.stringify(tally)).toBe(true);
}
