/**
 * The Google Workspace credential: a service account with domain-wide delegation, from a Secrets
 * Manager secret holding its JSON key (as Google Cloud downloads it: `client_email`, `private_key`,
 * `private_key_id`, `token_uri`) plus `subject`, the administrator it acts as. The access token is
 * requested with a JWT assertion signed here (RS256, node's crypto) and cached until shortly before
 * it expires.
 */
import { createPrivateKey, sign } from "node:crypto";
import * as z from "zod";
import { SyncError } from "../../core/errors.js";
import { CachedCredential, type ExchangedToken } from "../../shared/cached-credential.js";
import { CredentialsError } from "../../shared/errors.js";
import { requestToken } from "../../shared/oauth.js";
import type { SecretsManagerCredentialsOptions } from "../../shared/secrets.js";

const url = z
  .string()
  .trim()
  .transform((value) => value.replace(/\/+$/, ""))
  .refine(
    (value) =>
      /^https:\/\/[a-z0-9.-]+(\/[\w.-]+)*$/i.test(value) ||
      /^http:\/\/127\.0\.0\.1(:\d+)?(\/[\w.-]+)*$/.test(value),
    "must be an https URL",
  );

/** The read-only scopes the sync asks for; grant exactly these to the client id in the Admin console. */
export const GOOGLE_SCOPES = [
  "https://www.googleapis.com/auth/admin.directory.user.readonly",
  "https://www.googleapis.com/auth/admin.directory.group.readonly",
];

export const GoogleSecretSchema = z.object({
  client_email: z.string().min(1),
  private_key: z.string().min(1),
  private_key_id: z.string().optional(),
  /** @default "https://oauth2.googleapis.com/token" */
  token_uri: url.optional(),
  /** The Workspace administrator the service account acts as (domain-wide delegation). */
  subject: z.email(),
  /** @default "https://admin.googleapis.com" */
  apiUrl: url.optional(),
});
export type GoogleSecret = z.output<typeof GoogleSecretSchema>;

export class GoogleCredentialsError extends CredentialsError {}

/** A Google push arrived but no credential is configured. Permanent until the stack is updated. */
export class GoogleNotConfiguredError extends SyncError {
  public readonly transient = false;
}

export interface GoogleCredentials {
  /** `https://admin.googleapis.com` */
  apiUrl(): Promise<string>;
  authorization(): Promise<string>;
  refresh(): void;
}

export type SecretsManagerGoogleCredentialsOptions = SecretsManagerCredentialsOptions;

export class SecretsManagerGoogleCredentials implements GoogleCredentials {
  readonly #credential: CachedCredential<typeof GoogleSecretSchema>;
  readonly #fetch: typeof globalThis.fetch;
  readonly #now: () => number;

  public constructor(options: SecretsManagerGoogleCredentialsOptions) {
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#now = options.now ?? Date.now;
    this.#credential = new CachedCredential({
      now: options.now,
      secret: {
        provider: options.provider,
        secretId: options.secretId,
        maxAgeSeconds: options.maxAgeSeconds ?? 300,
        schema: GoogleSecretSchema,
        shapes: 'a service account key {"client_email", "private_key", ...} with "subject" added',
        error: (message, transient, cause) => new GoogleCredentialsError(message, transient, { cause }),
      },
    });
  }

  public async apiUrl(): Promise<string> {
    return (await this.#credential.secret()).apiUrl ?? "https://admin.googleapis.com";
  }

  public async authorization(): Promise<string> {
    const secret = await this.#credential.secret();
    return `Bearer ${await this.#credential.token(secret, (s) => this.#exchange(s))}`;
  }

  public refresh(): void {
    this.#credential.refresh();
  }

  async #exchange(secret: GoogleSecret): Promise<ExchangedToken> {
    const tokenUri = secret.token_uri ?? "https://oauth2.googleapis.com/token";
    const token = await requestToken({
      url: tokenUri,
      form: {
        grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer",
        assertion: serviceAccountAssertion(secret, tokenUri, this.#now()),
      },
      fetch: this.#fetch,
      timeoutMs: 5_000,
      error: (message, transient) => new GoogleCredentialsError(message, transient),
    });
    return { value: token.accessToken, expiresInMs: (token.expiresIn ?? 3600) * 1000 };
  }
}

/** The JWT a service account presents for a token on behalf of `subject`: RS256, an hour at most. */
export function serviceAccountAssertion(secret: GoogleSecret, audience: string, now: number): string {
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(secret.private_key);
  } catch {
    throw new GoogleCredentialsError(
      "the Google secret's private_key is not a readable PEM private key",
      false,
    );
  }
  const iat = Math.floor(now / 1000);
  const header = {
    alg: "RS256",
    typ: "JWT",
    ...(secret.private_key_id ? { kid: secret.private_key_id } : {}),
  };
  const claims = {
    iss: secret.client_email,
    sub: secret.subject,
    scope: GOOGLE_SCOPES.join(" "),
    aud: audience,
    iat,
    exp: iat + 3600,
  };
  const input = `${b64(JSON.stringify(header))}.${b64(JSON.stringify(claims))}`;
  return `${input}.${sign("RSA-SHA256", Buffer.from(input), key).toString("base64url")}`;
}

const b64 = (text: string) => Buffer.from(text).toString("base64url");
