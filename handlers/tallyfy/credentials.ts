/**
 * Tallyfy bearer tokens from an AWS Secrets Manager secret.
 *
 * The secret holds JSON in one of two shapes:
 * - `{"accessToken": "..."}`: a personal access token of a dedicated admin member;
 * - `{"clientId": "...", "clientSecret": "...", "tokenUrl": "..."}`: client credentials,
 *   exchanged for a token that is cached until shortly before it expires.
 *
 * Nothing here ever puts a secret value in an error message or a log line.
 */
import { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import * as z from "zod";
import { SyncError } from "../core/errors.js";
import { requestToken } from "../shared/oauth.js";
import { readJsonSecret } from "../shared/secrets.js";
import type { TokenSource } from "./transport.js";

export const TallyfySecretSchema = z.union([
  z.object({ accessToken: z.string().min(1) }),
  z.object({
    clientId: z.union([z.string().min(1), z.number()]).transform(String),
    clientSecret: z.string().min(1),
    tokenUrl: z.url({ protocol: /^https?$/ }),
    scope: z.string().optional(),
  }),
]);
export type TallyfySecret = z.output<typeof TallyfySecretSchema>;

/** The secret could not be read or used. `transient` is true only for throttling and service faults. */
export class TallyfyCredentialsError extends SyncError {
  public constructor(
    message: string,
    public readonly transient: boolean,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface SecretsManagerTokenSourceOptions {
  /** ARN or name of the secret. */
  readonly secretId: string;
  /** @default a SecretsProvider with the SDK's default endpoint resolution (honours AWS_ENDPOINT_URL_SECRETS_MANAGER) */
  readonly provider?: SecretsProvider;
  /** How long a read of the secret is trusted before it is read again. @default 300 */
  readonly maxAgeSeconds?: number;
  /** A client-credentials token is renewed this long before it expires. @default 60000 */
  readonly renewBeforeExpiryMs?: number;
  /** Timeout of the token request. @default 10000 */
  readonly timeoutMs?: number;
  /** @default globalThis.fetch */
  readonly fetch?: typeof globalThis.fetch;
  /** @default Date.now */
  readonly now?: () => number;
}

/** A {@link TokenSource} backed by Secrets Manager. Keep one per container: it is the cache. */
export class SecretsManagerTokenSource implements TokenSource {
  readonly #options: Required<Omit<SecretsManagerTokenSourceOptions, "provider">>;
  readonly #provider: SecretsProvider;
  #forceFetch = false;
  #exchanged?: { readonly secret: TallyfySecret; readonly token: string; readonly renewAt: number };

  public constructor(options: SecretsManagerTokenSourceOptions) {
    this.#provider = options.provider ?? new SecretsProvider();
    this.#options = {
      secretId: options.secretId,
      maxAgeSeconds: options.maxAgeSeconds ?? 300,
      renewBeforeExpiryMs: options.renewBeforeExpiryMs ?? 60_000,
      timeoutMs: options.timeoutMs ?? 10_000,
      fetch: options.fetch ?? globalThis.fetch,
      now: options.now ?? Date.now,
    };
  }

  public async getToken(): Promise<string> {
    const forceFetch = this.#forceFetch;
    this.#forceFetch = false;
    const secret = await this.#readSecret(forceFetch);
    if ("accessToken" in secret) return secret.accessToken;

    const cached = this.#exchanged;
    if (
      !forceFetch &&
      cached &&
      sameCredentials(cached.secret, secret) &&
      this.#options.now() < cached.renewAt
    ) {
      return cached.token;
    }
    const { token, expiresInMs } = await this.#exchange(secret);
    this.#exchanged = {
      secret,
      token,
      renewAt: this.#options.now() + Math.max(0, expiresInMs - this.#options.renewBeforeExpiryMs),
    };
    return token;
  }

  public refresh(): void {
    this.#forceFetch = true;
    this.#exchanged = undefined;
  }

  #readSecret(forceFetch: boolean): Promise<TallyfySecret> {
    return readJsonSecret({
      provider: this.#provider,
      secretId: this.#options.secretId,
      maxAgeSeconds: this.#options.maxAgeSeconds,
      forceFetch,
      schema: TallyfySecretSchema,
      shapes: '{"accessToken"} or {"clientId", "clientSecret", "tokenUrl"}',
      error: (message, transient, cause) => new TallyfyCredentialsError(message, transient, { cause }),
    });
  }

  async #exchange(secret: Extract<TallyfySecret, { clientSecret: string }>) {
    const token = await requestToken({
      url: secret.tokenUrl,
      form: {
        client_id: secret.clientId,
        client_secret: secret.clientSecret,
        ...(secret.scope ? { scope: secret.scope } : {}),
      },
      fetch: this.#options.fetch,
      timeoutMs: this.#options.timeoutMs,
      error: (message, transient) => new TallyfyCredentialsError(message, transient),
    });
    // Tallyfy documents 7 days for client-credentials tokens.
    return { token: token.accessToken, expiresInMs: (token.expiresIn ?? 604_800) * 1000 };
  }
}

function sameCredentials(a: TallyfySecret, b: TallyfySecret): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A fixed token, for local runs against a real organization with a token given on the command line. */
export class StaticTokenSource implements TokenSource {
  public constructor(private readonly token: string) {}

  public async getToken(): Promise<string> {
    return this.token;
  }

  public refresh(): void {
    // Nothing to refresh: a second 401 then fails the call with TallyfyAuthError.
  }
}
