/**
 * The Okta credential, from a Secrets Manager secret holding JSON in one of two shapes:
 * - `{"orgUrl": "https://acme.okta.com", "apiToken": "..."}`: an SSWS API token;
 * - `{"orgUrl", "clientId", "privateKey", "keyId"?, "scopes"?}`: an OAuth 2.0 service app, whose
 *   access token is obtained with client credentials and a `private_key_jwt` assertion signed
 *   with the PEM private key, and cached until shortly before it expires.
 */
import { createPrivateKey, randomUUID, sign } from "node:crypto";
import * as z from "zod";
import { SyncError } from "../../core/errors.js";
import { CachedCredential, type ExchangedToken } from "../../shared/cached-credential.js";
import { CredentialsError } from "../../shared/errors.js";
import { requestToken } from "../../shared/oauth.js";
import type { SecretsManagerCredentialsOptions } from "../../shared/secrets.js";
import type { OktaCredentials } from "./client.js";

// Okta orgs are https; plain http is accepted only on loopback, for the local fake.
const orgUrl = z
  .url()
  .refine(
    (url) => /^https:\/\//.test(url) || /^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?\/?$/.test(url),
    "must be https://<your org>.okta.com",
  )
  .transform((url) => url.replace(/\/+$/, ""));

export const OKTA_READ_SCOPES = "okta.users.read okta.groups.read okta.apps.read";

export const OktaSecretSchema = z.union([
  z.object({ orgUrl, apiToken: z.string().min(1) }),
  z.object({
    orgUrl,
    clientId: z.string().min(1),
    /** PKCS#8 or PKCS#1 PEM of the key registered on the service app. */
    privateKey: z.string().includes("PRIVATE KEY", { message: "must be a PEM private key" }),
    /** The key's `kid` in Okta, when the app has several keys. */
    keyId: z.string().min(1).optional(),
    /** @default "okta.users.read okta.groups.read okta.apps.read" */
    scopes: z.string().min(1).optional(),
  }),
]);
export type OktaSecret = z.output<typeof OktaSecretSchema>;
type ServiceAppSecret = Extract<OktaSecret, { clientId: string }>;

/** The Okta secret could not be read or used. */
export class OktaCredentialsError extends CredentialsError {}

/** An Okta event arrived but no Okta credential is configured. Permanent until the stack is updated. */
export class OktaNotConfiguredError extends SyncError {
  public readonly transient = false;
}

export type SecretsManagerOktaCredentialsOptions = SecretsManagerCredentialsOptions;

/** {@link OktaCredentials} from Secrets Manager. Keep one per container: it is the cache. */
export class SecretsManagerOktaCredentials implements OktaCredentials {
  readonly #credential: CachedCredential<typeof OktaSecretSchema>;
  readonly #options: SecretsManagerOktaCredentialsOptions;
  readonly #now: () => number;

  public constructor(options: SecretsManagerOktaCredentialsOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#credential = new CachedCredential({
      now: this.#now,
      secret: {
        provider: options.provider,
        secretId: options.secretId,
        maxAgeSeconds: options.maxAgeSeconds ?? 300,
        schema: OktaSecretSchema,
        shapes: '{"orgUrl", "apiToken"} or {"orgUrl", "clientId", "privateKey"}',
        error: (message, transient, cause) => new OktaCredentialsError(message, transient, { cause }),
      },
    });
  }

  public async orgUrl(): Promise<string> {
    return (await this.#credential.secret()).orgUrl;
  }

  public async authorization(): Promise<string> {
    const secret = await this.#credential.secret();
    if ("apiToken" in secret) return `SSWS ${secret.apiToken}`;
    return `Bearer ${await this.#credential.token(secret, (s) => this.#exchange(s as ServiceAppSecret))}`;
  }

  public refresh(): void {
    this.#credential.refresh();
  }

  async #exchange(secret: ServiceAppSecret): Promise<ExchangedToken> {
    const url = `${secret.orgUrl}/oauth2/v1/token`;
    const token = await requestToken({
      url,
      form: {
        scope: secret.scopes ?? OKTA_READ_SCOPES,
        client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        client_assertion: clientAssertion(secret, url, this.#now()),
      },
      fetch: this.#options.fetch ?? globalThis.fetch,
      timeoutMs: 5_000,
      error: (message, transient) => new OktaCredentialsError(message, transient),
    });
    if (token.tokenType && token.tokenType.toLowerCase() !== "bearer") {
      throw new OktaCredentialsError(
        `Okta issued a ${token.tokenType} token; turn off "Require DPoP" on the service app`,
        false,
      );
    }
    return { value: token.accessToken, expiresInMs: (token.expiresIn ?? 3600) * 1000 };
  }
}

/** The `private_key_jwt` client assertion Okta's token endpoint expects: RS256, five minutes. */
export function clientAssertion(secret: ServiceAppSecret, audience: string, now: number): string {
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(secret.privateKey);
  } catch {
    throw new OktaCredentialsError("the Okta secret's privateKey is not a readable PEM private key", false);
  }
  const iat = Math.floor(now / 1000);
  const header = { alg: "RS256", typ: "JWT", ...(secret.keyId ? { kid: secret.keyId } : {}) };
  const claims = {
    iss: secret.clientId,
    sub: secret.clientId,
    aud: audience,
    iat,
    exp: iat + 300,
    jti: randomUUID(),
  };
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  const signature = sign("RSA-SHA256", Buffer.from(signingInput), key);
  return `${signingInput}.${signature.toString("base64url")}`;
}

function base64url(text: string): string {
  return Buffer.from(text).toString("base64url");
}

/** A fixed credential, for local runs against the fake Okta or a real org given on the command line. */
export class StaticOktaCredentials implements OktaCredentials {
  public constructor(
    private readonly url: string,
    private readonly apiToken: string,
  ) {}

  public async orgUrl(): Promise<string> {
    return this.url;
  }

  public async authorization(): Promise<string> {
    return `SSWS ${this.apiToken}`;
  }

  public refresh(): void {
    // Nothing to renew: a second 401 fails the call with OktaAuthError.
  }
}
