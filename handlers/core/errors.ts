/**
 * The root of every error this project raises on purpose.
 *
 * The pipeline decides what to do with a failed record from two facts only: whether the failure
 * may go away by itself (`transient`: retry through SQS) or not (dead-letter now), and a
 * human-readable reason. Keeping both on one base class means a handler never has to know which
 * module threw.
 */
export abstract class SyncError extends Error {
  /** True when retrying the same work later may succeed (throttling, 5xx, timeouts). */
  public abstract readonly transient: boolean;

  public constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** True when `error` says it may succeed on a retry. Unknown errors are treated as transient. */
export function isTransient(error: unknown): boolean {
  return error instanceof SyncError ? error.transient : true;
}
