/**
 * The apply Lambda, as a factory over its dependencies so tests and the local runner can build it
 * on fakes, while `handlers/apply.ts` builds it from the environment.
 *
 * Reconcile messages (FIFO queue, one message group per entity) -> the reconciler -> Tallyfy.
 */
import { SqsFifoPartialProcessorAsync } from "@aws-lambda-powertools/batch";
import type { SQSRecord } from "aws-lambda";
import { parseReconcileMessage, type ReconcileMessage } from "../core/reconcile-message.js";
import type { ReconcileOutcome, Reconciler } from "../tallyfy/reconciler.js";
import { type CommonDeps, type RecordOutcome, runBatch, type SqsHandler } from "./batch.js";
import { MetricName } from "./observability.js";

export interface ApplyDeps extends CommonDeps {
  /** Built once per container: it holds the caches (member ids, group ids, token). */
  readonly reconciler: () => Reconciler;
}

/** Entities of one batch reconciled at once: more would only meet Tallyfy's rate limit sooner. */
const ENTITIES_AT_ONCE = 3;

type Result =
  | { readonly outcome: ReconcileOutcome; readonly message: ReconcileMessage }
  | { readonly error: unknown };

export function createApplyHandler(deps: ApplyDeps): SqsHandler {
  return (event, context) => {
    const deadline = Date.now() + context.getRemainingTimeInMillis();
    const entities = new Map<string, SQSRecord[]>();
    for (const record of event.Records) {
      const group = record.attributes.MessageGroupId ?? record.messageId;
      entities.set(group, [...(entities.get(group) ?? []), record]);
    }
    // Each entity's records run in order; a few entities run side by side (FIFO gives each one to
    // this consumer alone). A second message for an entity is usually skipped by its revision.
    const results = new Map<SQSRecord, Result>();
    const started = new Map<string, Promise<void>>();
    const waiting = [...entities.keys()];
    const runEntity = (group: string): Promise<void> => {
      let run = started.get(group);
      if (!run) {
        run = (async () => {
          let failed = false;
          for (const record of entities.get(group) ?? []) {
            const result: Result = failed
              ? { error: new SkippedError() }
              : await reconcileRecord(deps, record, deadline);
            failed ||= "error" in result;
            results.set(record, result);
          }
        })();
        started.set(group, run);
      }
      return run;
    };
    const startNext = (): void => {
      const group = waiting.shift();
      if (group !== undefined) void runEntity(group).finally(startNext);
    };
    for (let i = 0; i < ENTITIES_AT_ONCE; i++) startNext();

    return runBatch(
      event,
      context,
      new SqsFifoPartialProcessorAsync(),
      async (record): Promise<RecordOutcome> => {
        await runEntity(record.attributes.MessageGroupId ?? record.messageId);
        const result = results.get(record) ?? { error: new SkippedError() };
        if ("error" in result) throw result.error;
        return { status: result.outcome.status, kind: result.message.kind, reason: result.outcome.reason };
      },
      {
        deadLetters: deps.deadLetters,
        maxReceiveCount: deps.maxReceiveCount,
        metricNames: { applied: MetricName.Reconciled, noop: MetricName.NoOps, ignored: MetricName.Ignored },
        kindDimension: "kind",
        onTally: deps.onTally,
      },
    );
  };
}

async function reconcileRecord(deps: ApplyDeps, record: SQSRecord, deadline: number): Promise<Result> {
  let message: ReconcileMessage | undefined;
  try {
    deps.config();
    message = parseReconcileMessage(record.body);
    return { message, outcome: await deps.reconciler().reconcile(message, deadline) };
  } catch (error) {
    const entity = message && `${message.kind}:${message.key}`;
    return { error: entity && error instanceof Error ? Object.assign(error, { entity }) : error };
  }
}

/** An earlier message of the same entity failed and is retried first; this one waits for it. */
class SkippedError extends Error {
  public constructor() {
    super("an earlier message for the same entity failed and will be retried first");
    this.name = "SkippedError";
  }
}
