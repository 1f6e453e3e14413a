import { serviceErrorFamily } from "../shared/errors.js";

/** What a Tallyfy error body said, flattened from any of the shapes the API uses. */
export interface TallyfyErrorDetail {
  /** Tallyfy's own message, if the body had one. */
  readonly message?: string;
  /** Tallyfy's machine code, such as `RATE_LIMIT_EXCEEDED` or `SEAT_POOL_EXHAUSTED`. */
  readonly code?: string;
  /** Field errors, one line per message: `field: message`. */
  readonly fieldErrors: readonly string[];
  /** The `X-Request-Id` response header, when Tallyfy sent one. */
  readonly requestId?: string;
}

const TallyfyErrors = serviceErrorFamily<TallyfyErrorDetail>("Tallyfy", "Tallyfy", describe);
/** The base of every failure talking to Tallyfy. `operation` names the call, e.g. `members.updateRole`. */
export const TallyfyError = TallyfyErrors.Error;
export type TallyfyError = InstanceType<typeof TallyfyError>;
/**
 * Tallyfy answered with a non-2xx status. 429 and 5xx are transient; 400, 403, 404, 409 and 422
 * are permanent because sending the same request again gives the same answer.
 */
export const TallyfyApiError = TallyfyErrors.ApiError;
export type TallyfyApiError = InstanceType<typeof TallyfyApiError>;
/** The request never got an answer: connection refused or reset, DNS, TLS. Transient. */
export const TallyfyNetworkError = TallyfyErrors.NetworkError;
export type TallyfyNetworkError = InstanceType<typeof TallyfyNetworkError>;
/** A 2xx response whose body does not match the contract. Permanent: the same call gives the same body. */
export const TallyfyResponseError = TallyfyErrors.ResponseError;
export type TallyfyResponseError = InstanceType<typeof TallyfyResponseError>;

/** 429: Tallyfy asked us to slow down. `retryAfterMs` is what it asked for, when it said. */
export class TallyfyRateLimitError extends TallyfyApiError {
  public constructor(
    operation: string,
    detail: TallyfyErrorDetail,
    public readonly retryAfterMs: number | undefined,
  ) {
    super(operation, 429, detail);
  }
}

/**
 * 401 even after the token was fetched again. Permanent: the credential itself is wrong, expired
 * or revoked (a personal access token dies when its owner logs out), so the fix is a new secret
 * value and a redrive of the dead-letter queue.
 */
export class TallyfyAuthError extends TallyfyApiError {
  public override readonly transient = false;

  public constructor(operation: string, detail: TallyfyErrorDetail) {
    super(operation, 401, detail);
  }
}

/** No answer within the request timeout. Transient; a write may or may not have happened. */
export class TallyfyTimeoutError extends TallyfyError {
  public readonly transient = true;
}

/** The caller's deadline (the Lambda's remaining time) left no room for another attempt. */
export class TallyfyDeadlineError extends TallyfyError {
  public readonly transient = true;
}

/** A listing went past the page cap; stopping early would make absent look like missing. */
export class TallyfyPaginationError extends TallyfyError {
  public readonly transient = false;
}

function describe(status: number, detail: TallyfyErrorDetail): string {
  const parts = [`HTTP ${status}`];
  if (detail.code) parts.push(detail.code);
  let text = parts.join(" ");
  if (detail.message) text += `: ${detail.message}`;
  if (detail.fieldErrors.length > 0) text += ` (${detail.fieldErrors.join("; ")})`;
  if (detail.requestId) text += ` [request ${detail.requestId}]`;
  return text;
}
