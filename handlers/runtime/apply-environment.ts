import * as z from "zod";
import { TALLYFY_SCHEDULE } from "../contracts/lanes.js";
import type { SyncConfig } from "../core/config.js";
import type { Directory } from "../directory/directory.js";
import type { TallyfyClient } from "../tallyfy/client.js";
import { MemberDirectory } from "../tallyfy/member-directory.js";
import { Reconciler } from "../tallyfy/reconciler.js";
import type { ApplyDeps } from "./apply-handler.js";
import {
  commonVariables,
  directoryFrom,
  lazyConfig,
  parseEnvironment as parse,
  sqsClient,
} from "./function-environment.js";
import { count, logger, MetricName } from "./observability.js";
import { DeadLetterQueue, ReconcileQueue } from "./queues.js";
import { tallyfyClientFrom, tallyfyVariables } from "./tallyfy-environment.js";

export const ApplyEnvironmentSchema = z.object({
  ...commonVariables,
  ...tallyfyVariables,
});

export function applyDepsFromEnvironment(env: NodeJS.ProcessEnv = process.env): ApplyDeps {
  const vars = parse(ApplyEnvironmentSchema, env);
  const sqs = sqsClient();
  const config = lazyConfig(vars.SYNC_CONFIG);
  let reconciler: Reconciler | undefined;
  return {
    config,
    deadLetters: new DeadLetterQueue(sqs, vars.DEAD_LETTER_QUEUE_URL),
    maxReceiveCount: vars.MAX_RECEIVE_COUNT,
    reconciler: () => {
      if (!reconciler) {
        const directory = directoryFrom(vars.DIRECTORY_TABLE_NAME);
        reconciler = buildReconciler({
          config: config(),
          // Both lanes' containers book every request on one timeline: one token, one budget.
          client: tallyfyClientFrom(
            vars,
            directory.schedule(TALLYFY_SCHEDULE, { horizonMs: vars.TALLYFY_BOOKING_HORIZON_MS }),
          ),
          directory,
          queue: new ReconcileQueue(sqs, vars.RECONCILE_QUEUE_URL, vars.DEPARTURES_QUEUE_URL),
        });
      }
      return reconciler;
    },
  };
}

/** The reconciler with its per-container caches and metrics hooks. */
export function buildReconciler(parts: {
  config: SyncConfig;
  client: TallyfyClient;
  directory: Directory;
  queue: ReconcileQueue;
  /** Also told when Tallyfy keeps a guest's old profile (the local runner lists them). */
  onGuestProfileNotApplied?: (email: string, fields: readonly string[]) => void;
  /** Also told of each departure the brake holds (the local runner lists them). */
  onDepartureHeld?: (email: string, reason: string) => void;
  /** The departure brake's clock. @default Date.now */
  now?: () => number;
}): Reconciler {
  const { onGuestProfileNotApplied, onDepartureHeld, ...deps } = parts;
  return new Reconciler({
    ...deps,
    members: new MemberDirectory(parts.client),
    onWrite: (operation) => count(MetricName.TallyfyWrites, { name: "operation", value: operation }),
    onDepartureHeld: (email, reason) => {
      // An administrator decides: `npx tallyfy-idp-sync holds list`, then approve or reject.
      logger.warn("departure held by the departure brake", { email, reason });
      count(MetricName.DeparturesHeld);
      onDepartureHeld?.(email, reason);
    },
    onGuestProfileNotApplied: (email, fields) => {
      // Tallyfy's contract notes say guest profile fields may be accepted and discarded.
      logger.warn("Tallyfy kept the guest's old profile values", { email, fields });
      count(MetricName.GuestProfileNotApplied);
      onGuestProfileNotApplied?.(email, fields);
    },
  });
}
