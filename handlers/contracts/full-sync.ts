/** What the full reconciliation and the stack agree on: its metric names and how long a run may last. */

/** Metric names a run emits (runtime/ sends them to CloudWatch). */
export const FullSyncMetric = {
  Listed: "FullSyncListed",
  Corrected: "FullSyncCorrected",
  Held: "FullSyncHeld",
  Unmanaged: "FullSyncUnmanaged",
  Departures: "FullSyncDepartures",
  ListingFailed: "FullSyncListingFailed",
  Stopped: "FullSyncStopped",
  /** A scheduled start found another run in progress and did nothing. */
  Skipped: "FullSyncSkipped",
} as const;

/** The state machine's timeout: a run older than this has no execution carrying it on. */
export const FULL_SYNC_STALE_AFTER_MS = 12 * 3_600_000;
export type FullSyncMetric = (typeof FullSyncMetric)[keyof typeof FullSyncMetric];
