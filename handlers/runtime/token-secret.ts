/**
 * The secrets an ingress compares requests against (the SCIM bearer token, a webhook's shared
 * secret): a plain string, or `{"token": "…", "previousToken": "…"}` while the identity provider is
 * being moved to a new one. Shared by the SCIM, webhook and subscription functions.
 */
import type { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import * as z from "zod";
import { parseSecretJson, readSecretText } from "../shared/secrets.js";

/**
 * How often a request that matches no secret may make the function read the secret again past its
 * cache: a new secret is used within seconds, and a scanner cannot turn each request into a read.
 */
export const FRESH_READ_INTERVAL_MS = 5_000;

/** The secret cannot be read, or holds no token. Told to the log; the request gets 503. */
export class TokenSecretError extends Error {
  public constructor(
    message: string,
    public readonly transient: boolean,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "TokenSecretError";
  }
}

const TokenSecretSchema = z.object({
  token: z.string().min(1),
  previousToken: z.string().min(1).optional(),
});

/**
 * Reads the secret's tokens. A secret holding neither shape is an error (in the log), never a
 * silent refusal of every request.
 */
export function secretTokens(provider: SecretsProvider, secretId: string, maxAgeSeconds: number) {
  return async (fresh: boolean): Promise<readonly string[]> => {
    const read = {
      provider,
      secretId,
      maxAgeSeconds,
      forceFetch: fresh,
      error: (message: string, transient: boolean, cause?: unknown) =>
        new TokenSecretError(message, transient, { cause }),
    };
    const text = (await readSecretText(read)).trim();
    if (text !== "" && !text.startsWith("{")) return [text];
    const { token, previousToken } = parseSecretJson(text, {
      ...read,
      schema: TokenSecretSchema,
      shapes: 'a token, or {"token", "previousToken"}',
    });
    return previousToken ? [token, previousToken] : [token];
  };
}
