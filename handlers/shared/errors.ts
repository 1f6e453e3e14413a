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

/** `HTTP 404: Not found`: the status and what the service said. */
export function describeStatus(status: number, detail: string): string {
  return `HTTP ${status}${detail ? `: ${detail}` : ""}`;
}

/** A non-2xx answer of a service: its status, and what the service said. */
export interface ServiceApiError<Detail> extends ServiceError {
  readonly status: number;
  readonly detail: Detail;
  /** 429 and 5xx: sending it again later may succeed. */
  readonly transient: boolean;
}

type Failure = new (operation: string, message: string, options?: ErrorOptions) => ServiceError;
type Answer<Detail> = new (operation: string, status: number, detail: Detail) => ServiceApiError<Detail>;

/** The classes of one service's error family (see {@link serviceErrorFamily}). */
export interface ServiceErrorFamily<Detail> {
  readonly Error: abstract new (operation: string, message: string, options?: ErrorOptions) => ServiceError;
  readonly ApiError: Answer<Detail>;
  readonly AuthError: Answer<Detail>;
  readonly NetworkError: Failure;
  readonly ResponseError: Failure;
}

/**
 * One service's error family, its classes named after it (`OktaApiError`, `GraphNetworkError`),
 * so a dead letter's `errorType` names the service while what each class means is decided once:
 * - `Error`: the base of every failure talking to the service;
 * - `ApiError`: a non-2xx answer, transient for 429 and 5xx, permanent for the rest;
 * - `AuthError`: 401 or 403 even with a fresh credential (wrong, revoked, or lacking a scope);
 * - `NetworkError`: no answer (refused, reset, DNS, TLS, the timeout), transient;
 * - `ResponseError`: a 2xx body that is not what the API documents, permanent.
 */
export function serviceErrorFamily<Detail = string>(
  /** The classes' prefix: `Graph` gives `GraphApiError`. */
  prefix: string,
  /** The service as messages name it: `Microsoft Graph`. */
  service: string,
  describe: (status: number, detail: Detail) => string = describeStatus as never,
): ServiceErrorFamily<Detail> {
  abstract class FamilyError extends ServiceError {
    public constructor(operation: string, message: string, options?: ErrorOptions) {
      super(service, operation, message, options);
    }
  }
  class ApiError extends FamilyError {
    public readonly transient: boolean;

    public constructor(
      operation: string,
      public readonly status: number,
      public readonly detail: Detail,
    ) {
      super(operation, describe(status, detail));
      this.transient = isTransientStatus(status);
    }
  }
  class AuthError extends ApiError {
    public override readonly transient = false;
  }
  class NetworkError extends FamilyError {
    public readonly transient = true;
  }
  class ResponseError extends FamilyError {
    public readonly transient = false;
  }
  const family = { Error: FamilyError, ApiError, AuthError, NetworkError, ResponseError };
  // SyncError names an error after its class: these classes carry the service's names.
  for (const [suffix, type] of Object.entries(family)) {
    Object.defineProperty(type, "name", { value: `${prefix}${suffix}` });
  }
  return family;
}

const OUT_OF_TIME = Symbol("outOfTime");

/**
 * Marks `error` as thrown because the caller's deadline left no time for the request (or for its
 * wait): the work may go on in the next invocation, where a failure of the request itself may not.
 */
export function outOfTime<E extends Error>(error: E): E {
  Object.defineProperty(error, OUT_OF_TIME, { value: true });
  return error;
}

export function isOutOfTime(error: unknown): boolean {
  return typeof error === "object" && error !== null && OUT_OF_TIME in error;
}
