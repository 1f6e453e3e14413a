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
import { CachedCredential, type ExchangedToken } from "../shared/cached-credential.js";
import { CredentialsError } from "../shared/errors.js";
import { requestToken } from "../shared/oauth.js";
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
export class TallyfyCredentialsError extends CredentialsError {}

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
  readonly #credential: CachedCredential<typeof TallyfySecretSchema>;
  readonly #fetch: typeof globalThis.fetch;
  readonly #timeoutMs: number;

  public constructor(options: SecretsManagerTokenSourceOptions) {
    const provider = options.provider ?? new SecretsProvider();
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#credential = new CachedCredential({
      renewBeforeExpiryMs: options.renewBeforeExpiryMs,
      now: options.now,
      secret: {
        provider,
        secretId: options.secretId,
        maxAgeSeconds: options.maxAgeSeconds ?? 300,
        schema: TallyfySecretSchema,
        shapes: '{"accessToken"} or {"clientId", "clientSecret", "tokenUrl"}',
        error: (message, transient, cause) => new TallyfyCredentialsError(message, transient, { cause }),
      },
    });
  }

  public async getToken(): Promise<string> {
    const secret = await this.#credential.secret();
    if ("accessToken" in secret) return secret.accessToken;
    return this.#credential.token(secret, (s) => this.#exchange(s as ClientCredentials));
  }

  public refresh(): void {
    this.#credential.refresh();
  }

  async #exchange(secret: ClientCredentials): Promise<ExchangedToken> {
    const token = await requestToken({
      url: secret.tokenUrl,
      form: {
        client_id: secret.clientId,
        client_secret: secret.clientSecret,
        ...(secret.scope ? { scope: secret.scope } : {}),
      },
      fetch: this.#fetch,
      timeoutMs: this.#timeoutMs,
      error: (message, transient) => new TallyfyCredentialsError(message, transient),
    });
    // Tallyfy documents 7 days for client-credentials tokens.
    return { value: token.accessToken, expiresInMs: (token.expiresIn ?? 604_800) * 1000 };
  }
}

type ClientCredentials = Extract<TallyfySecret, { clientSecret: string }>;

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
