/**
 * The full-sync Lambda, as a factory over the engine so tests can run it on fakes, while
 * `handlers/full-sync.ts` builds it from the environment.
 *
 * Each invocation is one step of a run (`full-sync/full-sync.ts`): the stack's state machine
 * starts a run on the schedule, and invokes again with the run's id until the step says `done`.
 */

import type { Context } from "aws-lambda";
import type { FullSync, StepResult } from "../full-sync/full-sync.js";
import { logger, metrics } from "./observability.js";

/**
 * What the state machine passes: the state (nothing to start a run, the last step's answer to go on
 * with it) and the execution's id.
 */
export interface FullSyncInput {
  readonly input?: { readonly runId?: string };
  readonly executionId?: string;
  /** Invoked by hand, without the state machine's wrapping. */
  readonly runId?: string;
}

export type FullSyncHandler = (
  input: FullSyncInput | null | undefined,
  context: Context,
) => Promise<StepResult>;

export function createFullSyncHandler(engine: () => FullSync): FullSyncHandler {
  return async (input, context) => {
    const deadline = Date.now() + context.getRemainingTimeInMillis();
    try {
      const result = await engine().step(
        { runId: input?.input?.runId ?? input?.runId, executionId: input?.executionId },
        deadline,
      );
      logger.info("full reconciliation step", { ...result });
      return result;
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}
