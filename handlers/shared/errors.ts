/**
 * The error families every API client here shares. Each client names its own classes (so a dead
 * letter's `errorType` says `TallyfyApiError` or `OktaAuthError`), but what a class means, and
 * whether SQS should try again, is decided once, here.
 */
import { SyncError } from "../core/errors.js";

/** A failure of one call to a service; the message names the service and the call. */
export abstract class ServiceError extends SyncError {
  public constructor(
    service: string,
    public readonly operation: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`${service} ${operation}: ${message}`, options);
  }
}

/** The service answered with a non-2xx status: 429 and 5xx are transient, the rest permanent. */
export function isTransientStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/**
 * A credential could not be read or used: a secret missing or malformed, a token request
 * refused. `transient` is true only for throttling and service faults.
 */
export abstract class CredentialsError extends SyncError {
  public constructor(
    message: string,
    public readonly transient: boolean,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
