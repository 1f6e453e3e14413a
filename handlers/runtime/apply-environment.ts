import * as z from "zod";
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
import { DeadLetterQueue, laneBudget, ReconcileQueue } from "./queues.js";
import { tallyfyClientFrom, tallyfyVariables } from "./tallyfy-environment.js";

export const ApplyEnvironmentSchema = z.object({
  ...commonVariables,
  ...tallyfyVariables,
  /**
   * The departures function's: the reconcile queue, and its budget while no join waits there
   * (`TALLYFY_REQUESTS_PER_MINUTE` is its reserved share while joins wait). The apply
   * function has neither: it paces at its share always.
   */
  OTHER_LANE_QUEUE_URL: z.url().optional(),
  TALLYFY_IDLE_REQUESTS_PER_MINUTE: z.coerce.number().int().min(1).optional(),
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
      reconciler ??= buildReconciler({
        config: config(),
        client: tallyfyClientFrom(
          vars,
          vars.OTHER_LANE_QUEUE_URL &&
            vars.TALLYFY_REQUESTS_PER_MINUTE &&
            vars.TALLYFY_IDLE_REQUESTS_PER_MINUTE
            ? laneBudget(sqs, vars.OTHER_LANE_QUEUE_URL, {
                busy: vars.TALLYFY_REQUESTS_PER_MINUTE,
                idle: vars.TALLYFY_IDLE_REQUESTS_PER_MINUTE,
              })
            : undefined,
        ),
        directory: directoryFrom(vars.DIRECTORY_TABLE_NAME),
        queue: new ReconcileQueue(sqs, vars.RECONCILE_QUEUE_URL, vars.DEPARTURES_QUEUE_URL),
      });
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
