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

/** One step's time: long enough for several pages and the run's end, well inside Lambda's 15 minutes. */
export const FULL_SYNC_STEP_TIMEOUT_MS = 5 * 60_000;

/**
 * The full-sync function's memory, megabytes: twice the JavaScript heap its largest step (the
 * run's end, which reads everyone and all of Tallyfy) needs at 100,000 people. With its heap
 * capped at 512 MB that step ran out of memory; at 1,024 MB it peaked at 1,001 MB resident
 * (`npm run bench -- --only fullsync`, docs/performance.md).
 */
export const FULL_SYNC_MEMORY_MB = 2048;

/** The state machine's timeout: a run older than this has no execution carrying it on. */
export const FULL_SYNC_STALE_AFTER_MS = 12 * 3_600_000;
export type FullSyncMetric = (typeof FullSyncMetric)[keyof typeof FullSyncMetric];
