/**
 * The SCIM endpoint's requests and answers: their shapes, reading a body safely, preconditions,
 * and the error answers every resource shares.
 */
import { findUntrustedJsonProblem } from "../../core/untrusted-json.js";
import { invalidSyntax, invalidValue, notFound, ScimRequestError } from "./errors.js";
import { etagOf } from "./render.js";
import { ERROR_SCHEMA } from "./resources.js";
import type { GroupRecord, ScimMessage, ScimStore, UserRecord, Written } from "./store.js";

export interface ScimRequest {
  readonly method: string;
  /** The request path; everything up to `/v2` (or the stage) is ignored. */
  readonly path: string;
  readonly query: Readonly<Record<string, string | undefined>>;
  /** Header names in any case. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: string | null;
}

export interface ScimResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

export const MEDIA_TYPE = "application/scim+json";
export const MAX_ATTEMPTS = 8;

/** A change kept failing to be stored because others kept changing the resource. Transient. */
export class ScimConflictError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = "ScimConflictError";
  }
}

/** What the users and groups share of the service's dependencies. */
export interface ResourceDeps {
  readonly store: ScimStore;
  readonly queue: (messages: readonly ScimMessage[]) => Promise<void>;
  readonly now: () => number;
  readonly newId: () => string;
}

/**
 * A stored resource, its pending events queued first; 404 when there is none (or it is deleted),
 * 412 when the request's If-Match names another version.
 */
export async function liveRecord<R extends UserRecord | GroupRecord>(
  read: () => Promise<R | undefined>,
  flush: (record: R) => Promise<void>,
  missing: string,
  request: ScimRequest | undefined,
): Promise<R> {
  let record = await read();
  if (record?.outbox) {
    await flush(record);
    record = record.deleted ? undefined : { ...record, outbox: undefined };
  }
  if (!record || record.deleted) throw notFound(missing);
  if (request) checkPrecondition(request, record.version);
  return record;
}

/** Refuses a name another live resource holds; a holder's pending events are queued on the way. */
export async function holder(
  id: string | undefined,
  live: (id: string) => Promise<unknown>,
  name: string,
): Promise<void> {
  if (id === undefined) return;
  try {
    await live(id);
  } catch (error) {
    // Gone, or deleted: the name is free (a claim left by a stopped request is released by the store).
    if (error instanceof ScimRequestError && error.status === 404) return;
    throw error;
  }
  throw takenError(name);
}

/** SCIM resources and PatchOps nest a few levels; anything deeper is not one. */
const MAX_BODY_DEPTH = 16;

/**
 * The body, parsed and checked before anything walks it: no key at any depth may name a
 * prototype (a PATCH library walking `__proto__.roles` would change every object of the process),
 * and nesting is bounded (a recursive walk of 100,000 nested arrays overflows the stack).
 */
export function jsonOf(request: ScimRequest): unknown {
  if (!request.body?.trim()) throw invalidSyntax("the request has no body");
  let body: unknown;
  try {
    body = JSON.parse(request.body);
  } catch {
    throw invalidSyntax("the body is not valid JSON");
  }
  const problem = findUntrustedJsonProblem(body, MAX_BODY_DEPTH);
  if (problem) throw invalidValue(`the body is refused: ${problem.message}`);
  // JSON keeps U+FFFE and U+FFFF as they are, and SQS refuses a message holding them: stored, such
  // a change could never be queued, and every later request about it would answer 503.
  if (/[\uFFFE\uFFFF]/.test(JSON.stringify(body))) {
    throw invalidValue("the body holds U+FFFE or U+FFFF, which are not characters and cannot be queued");
  }
  return body;
}

export function integer(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === "") return undefined;
  if (!/^-?\d+$/.test(value)) throw invalidValue(`${name} must be an integer`);
  return Number(value);
}

export function checkPrecondition(request: ScimRequest, version: number): void {
  const wanted = headerOf(request.headers, "if-match");
  if (wanted === undefined || wanted.trim() === "*") return;
  const tags = wanted.split(",").map((t) => t.trim());
  if (!tags.includes(etagOf(version)) && !tags.includes(`"${version}"`)) {
    throw new ScimRequestError(412, `the resource is at version ${etagOf(version)}, not ${wanted}`);
  }
}

export function takenError(name: string): ScimRequestError {
  return new ScimRequestError(409, `${name} is already taken`, "uniqueness");
}

/** A path segment, decoded; one that is not valid percent-encoding names nothing. */
export function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw notFound(`no resource ${segment}`);
  }
}

/** Passes on how a write ended, refusing one the store cannot hold: a retry would never fit either. */
export function tooLarge<W extends Written>(written: W): Exclude<W, "tooLarge"> {
  if (written === "tooLarge") {
    throw new ScimRequestError(
      413,
      "the resource with this change is too large to store: send a smaller change",
    );
  }
  return written as Exclude<W, "tooLarge">;
}

export function headerOf(headers: ScimRequest["headers"], name: string): string | undefined {
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : headers[key];
}

export function ok(body: unknown, status = 200, headers: Record<string, string> = {}): ScimResponse {
  return { status, headers: { "Content-Type": MEDIA_TYPE, ...headers }, body: JSON.stringify(body) };
}

export function errorResponse(
  status: number,
  detail: string,
  scimType: string | undefined,
  headers: Readonly<Record<string, string>> = {},
): ScimResponse {
  return {
    status,
    headers: { "Content-Type": MEDIA_TYPE, ...headers },
    body: JSON.stringify({
      schemas: [ERROR_SCHEMA],
      status: String(status),
      ...(scimType ? { scimType } : {}),
      detail,
    }),
  };
}
