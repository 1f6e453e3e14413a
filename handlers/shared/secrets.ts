/**
 * Reading a JSON credential from Secrets Manager through Powertools' cache, for every secret the
 * handlers use. Nothing here ever puts a secret value in an error message or a log line.
 */
import type { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import type * as z from "zod";

// Client errors that no retry will fix. Anything else from the service (throttling, 5xx, network) may pass.
const PERMANENT_SECRET_ERRORS = new Set([
  "ResourceNotFoundException",
  "AccessDeniedException",
  "DecryptionFailure",
  "InvalidRequestException",
  "InvalidParameterException",
  "UnrecognizedClientException",
]);

/** What every identity provider's Secrets Manager credential takes: the secret, and how to reach the provider. */
export interface SecretsManagerCredentialsOptions {
  readonly secretId: string;
  readonly provider: SecretsProvider;
  /** How long a read of the secret is trusted, seconds. @default 300 */
  readonly maxAgeSeconds?: number;
  /** @default globalThis.fetch */
  readonly fetch?: typeof globalThis.fetch;
  /** @default Date.now */
  readonly now?: () => number;
}

export interface SecretRead<T extends z.ZodType> {
  readonly provider: SecretsProvider;
  readonly secretId: string;
  /** How long a read is trusted, seconds. */
  readonly maxAgeSeconds: number;
  /** Skip the cache (after the credential was refused). */
  readonly forceFetch: boolean;
  readonly schema: T;
  /** The accepted shapes, for the error when the secret holds something else, e.g. `{"apiToken"}`. */
  readonly shapes: string;
  /** Builds the caller's own error class; `transient` says whether a retry may help. */
  readonly error: (message: string, transient: boolean, cause?: unknown) => Error;
}

/** The secret's text; the error names the secret and the service's error, never the value. */
export async function readSecretText(
  read: Omit<SecretRead<z.ZodType>, "schema" | "shapes">,
): Promise<string> {
  const { secretId } = read;
  let value: unknown;
  try {
    value = await read.provider.get(secretId, { maxAge: read.maxAgeSeconds, forceFetch: read.forceFetch });
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    const name = cause instanceof Error ? cause.name : "UnknownError";
    throw read.error(`cannot read secret ${secretId}: ${name}`, !PERMANENT_SECRET_ERRORS.has(name), cause);
  }
  if (typeof value !== "string") throw read.error(`secret ${secretId} has no string value`, false);
  return value;
}

/** The secret's JSON, validated; the error names the secret and the problem, never the value. */
export async function readJsonSecret<T extends z.ZodType>(read: SecretRead<T>): Promise<z.output<T>> {
  return parseSecretJson(await readSecretText(read), read);
}

/** A secret's text as JSON of the schema; the error never quotes the text. */
export function parseSecretJson<T extends z.ZodType>(
  value: string,
  read: Pick<SecretRead<T>, "secretId" | "schema" | "shapes" | "error">,
): z.output<T> {
  const { secretId } = read;
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    // JSON.parse's own message quotes the text it choked on, which here is the secret.
    throw read.error(`secret ${secretId} is not valid JSON`, false);
  }
  const parsed = read.schema.safeParse(json);
  if (!parsed.success) {
    const keys =
      json !== null && typeof json === "object" ? Object.keys(json).join(", ") || "none" : typeof json;
    throw read.error(`secret ${secretId} must hold ${read.shapes}; it has: ${keys}`, false);
  }
  return parsed.data;
}
