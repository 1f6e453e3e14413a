/**
 * The apply Lambda, as a factory over its dependencies so tests and the local runner can build it
 * on fakes, while `handlers/apply.ts` builds it from the environment.
 *
 * Commands (FIFO queue) -> Tallyfy, one entity (message group) at a time.
 */
import { SqsFifoPartialProcessorAsync } from "@aws-lambda-powertools/batch";
import type { SQSRecord } from "aws-lambda";
import { type Command, parseCommand } from "../core/commands.js";
import { SyncError } from "../core/errors.js";
import type { GroupSnapshot, ItemResult, Reconciler } from "../tallyfy/reconciler.js";
import { type CommonDeps, isLastReceive, type RecordOutcome, runBatch, type SqsHandler } from "./batch.js";
import { MetricName } from "./observability.js";
import type { IngestQueue } from "./queues.js";

export interface ApplyDeps extends CommonDeps {
  /** Built once per container: it holds the caches (member directory, group ids, token). */
  readonly reconciler: () => Reconciler;
  /** Where commands waiting for a person to be created go, and how patiently. */
  readonly deferrals: {
    readonly queue: IngestQueue;
    /** The first delay; each further deferral doubles it (at most 15 minutes, an SQS limit). */
    readonly baseDelaySeconds: number;
    /** After this many deferrals the command is dead-lettered with the reason. */
    readonly maxDeferrals: number;
  };
}

/** A command waited for its person through every deferral. Permanent. */
export class DeferralsExhaustedError extends SyncError {
  public readonly transient = false;
}

interface Entry {
  readonly record: SQSRecord;
  readonly command?: Command;
  readonly error?: unknown;
}

export function createApplyHandler(deps: ApplyDeps): SqsHandler {
  return (event, context) => {
    const processor = new SqsFifoPartialProcessorAsync();
    const deadline = Date.now() + context.getRemainingTimeInMillis();
    const groups = new Map<string, Entry[]>();
    for (const record of event.Records) {
      const group = record.attributes.MessageGroupId ?? record.messageId;
      let entry: Entry;
      try {
        entry = { record, command: parseCommand(record.body) };
      } catch (error) {
        entry = { record, error };
      }
      groups.set(group, [...(groups.get(group) ?? []), entry]);
    }

    // Each message group is reconciled once, when its first record comes up, for all its records.
    const units = new Map<string, Promise<Map<SQSRecord, ItemResult>>>();
    let snapshot: Promise<GroupSnapshot | undefined> | undefined;
    const unitOf = (group: string): Promise<Map<SQSRecord, ItemResult>> => {
      let unit = units.get(group);
      if (!unit) {
        snapshot ??= snapshotGroups(deps, groups, deadline);
        unit = snapshot.then((groupStates) =>
          reconcileGroup(deps, groups.get(group) ?? [], deadline, groupStates),
        );
        units.set(group, unit);
      }
      return unit;
    };
    // The batch's entities are independent (FIFO gives each group to this consumer alone), so a
    // few are reconciled side by side; more would only meet Tallyfy's rate limit sooner. Results
    // are still reported record by record, in order.
    const waiting = [...groups.keys()];
    const startNext = (): void => {
      const group = waiting.shift();
      if (group !== undefined) void unitOf(group).finally(startNext);
    };
    for (let i = 0; i < UNITS_AT_ONCE; i++) startNext();

    return runBatch(
      event,
      context,
      processor,
      async (record): Promise<RecordOutcome> => {
        const results = await unitOf(record.attributes.MessageGroupId ?? record.messageId);
        const result = results.get(record) ?? { status: "skipped" };
        const entry = groups
          .get(record.attributes.MessageGroupId ?? record.messageId)
          ?.find((e) => e.record === record);
        const about = { kind: entry?.command?.kind, eventId: entry?.command?.eventId };
        if (result.status === "failed")
          throw Object.assign(result.error as object, { eventId: about.eventId });
        if (result.status === "skipped") throw new SkippedError();
        if (result.status === "deferred") {
          const command = entry?.command as Command;
          const attempt = command.attempt ?? 0;
          const { queue, baseDelaySeconds, maxDeferrals } = deps.deferrals;
          if (attempt >= maxDeferrals) {
            const message = `${result.error.message} (still missing after ${attempt} deferrals)`;
            throw Object.assign(new DeferralsExhaustedError(message), { eventId: about.eventId });
          }
          // Doubling delays: the person's creation is usually right behind, sometimes minutes away.
          await queue.defer({ ...command, attempt: attempt + 1 }, baseDelaySeconds * 2 ** attempt);
          return { status: "deferred", reason: result.error.message, ...about };
        }
        return { status: result.status, reason: result.reason, ...about };
      },
      {
        deadLetters: deps.deadLetters,
        maxReceiveCount: deps.maxReceiveCount,
        metricNames: {
          applied: MetricName.CommandsApplied,
          noop: MetricName.NoOps,
          ignored: MetricName.Ignored,
          deferred: MetricName.Deferred,
        },
        kindDimension: "kind",
        onTally: deps.onTally,
      },
    );
  };
}

/** Entities of one batch reconciled at once. */
const UNITS_AT_ONCE = 3;

/** An earlier command of the same entity must be retried first; this one waits for it. */
class SkippedError extends Error {
  public constructor() {
    super("an earlier command for the same Tallyfy entity failed and will be retried first");
    this.name = "SkippedError";
  }
}

/** One listing of all groups when the batch touches several; undefined (read one by one) otherwise or on failure. */
async function snapshotGroups(
  deps: ApplyDeps,
  groups: Map<string, Entry[]>,
  deadline: number,
): Promise<GroupSnapshot | undefined> {
  const groupUnits = [...groups.values()].filter((entries) =>
    entries[0]?.command?.kind.startsWith("group."),
  ).length;
  if (groupUnits < 2) return undefined;
  try {
    deps.config();
    return await deps.reconciler().snapshotGroups(groupUnits, deadline);
  } catch {
    // Each group unit then reads its own group, and reports its own failure.
    return undefined;
  }
}

async function reconcileGroup(
  deps: ApplyDeps,
  entries: readonly Entry[],
  deadline: number,
  groupStates?: GroupSnapshot,
): Promise<Map<SQSRecord, ItemResult>> {
  const results = new Map<SQSRecord, ItemResult>();
  let reconciler: Reconciler;
  try {
    deps.config();
    reconciler = deps.reconciler();
  } catch (error) {
    for (const entry of entries) results.set(entry.record, { status: "failed", error });
    return results;
  }
  const valid = entries.filter((e) => e.command !== undefined);
  for (const entry of entries) {
    if (entry.error !== undefined) results.set(entry.record, { status: "failed", error: entry.error });
  }
  const items = valid.map((e) => ({
    command: e.command as Command,
    final: isLastReceive(e.record, deps.maxReceiveCount),
  }));
  try {
    const outcomes = await reconciler.apply(items, deadline, groupStates);
    valid.forEach((entry, index) => {
      results.set(entry.record, outcomes[index] ?? { status: "skipped" });
    });
  } catch (error) {
    // A failed read before any write: every command of the entity shares the failure.
    for (const entry of valid) results.set(entry.record, { status: "failed", error });
  }
  return results;
}
