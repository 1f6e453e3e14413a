/**
 * The Auth0 Management API credential, from a Secrets Manager secret holding
 * `{"domain", "clientId", "clientSecret", "audience"?}` of a machine-to-machine application
 * authorised for the Management API with `read:users` and `read:roles`. The access token is
 * obtained with client credentials and cached until shortly before it expires.
 */

import * as z from "zod";
import { SyncError } from "../../core/errors.js";
import { CachedCredential, type ExchangedToken } from "../../shared/cached-credential.js";
import { CredentialsError } from "../../shared/errors.js";
import { requestToken } from "../../shared/oauth.js";
import type { SecretsManagerCredentialsOptions } from "../../shared/secrets.js";

// The tenant's domain (`acme.us.auth0.com`, or a custom domain) as a base URL; plain http only on
// loopback, for the local fake.
const domain = z
  .string()
  .trim()
  .transform((value) => (/^https?:\/\//.test(value) ? value : `https://${value}`).replace(/\/+$/, ""))
  .refine(
    (url) => /^https:\/\/[a-z0-9.-]+$/i.test(url) || /^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?$/.test(url),
    "must be your tenant's domain, e.g. acme.us.auth0.com",
  );

export const Auth0SecretSchema = z.object({
  domain,
  clientId: z.string().min(1),
  clientSecret: z.string().min(1),
  /** @default "https://<domain>/api/v2/" (give the tenant's own domain here when `domain` is a custom one) */
  audience: z.string().url().optional(),
});
export type Auth0Secret = z.output<typeof Auth0SecretSchema>;

/** The Auth0 secret could not be read or used. */
export class Auth0CredentialsError extends CredentialsError {}

/** An Auth0 event arrived but no Auth0 credential is configured. Permanent until the stack is updated. */
export class Auth0NotConfiguredError extends SyncError {
  public readonly transient = false;
}

/** What the client needs of a credential: the tenant, the Authorization header, and a way to renew it. */
export interface Auth0Credentials {
  /** `https://acme.us.auth0.com` */
  baseUrl(): Promise<string>;
  authorization(): Promise<string>;
  /** Auth0 said 401: the next {@link authorization} must not come from a cache. */
  refresh(): void;
}

export type SecretsManagerAuth0CredentialsOptions = SecretsManagerCredentialsOptions;

/** {@link Auth0Credentials} from Secrets Manager. Keep one per container: it is the cache. */
export class SecretsManagerAuth0Credentials implements Auth0Credentials {
  readonly #credential: CachedCredential<typeof Auth0SecretSchema>;
  readonly #fetch: typeof globalThis.fetch;

  public constructor(options: SecretsManagerAuth0CredentialsOptions) {
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#credential = new CachedCredential({
      now: options.now,
      secret: {
        provider: options.provider,
        secretId: options.secretId,
        maxAgeSeconds: options.maxAgeSeconds ?? 300,
        schema: Auth0SecretSchema,
        shapes: '{"domain", "clientId", "clientSecret"}',
        error: (message, transient, cause) => new Auth0CredentialsError(message, transient, { cause }),
      },
    });
  }

  public async baseUrl(): Promise<string> {
    return (await this.#credential.secret()).domain;
  }

  public async authorization(): Promise<string> {
    const secret = await this.#credential.secret();
    return `Bearer ${await this.#credential.token(secret, (s) => this.#exchange(s))}`;
  }

  public refresh(): void {
    this.#credential.refresh();
  }

  async #exchange(secret: Auth0Secret): Promise<ExchangedToken> {
    const token = await requestToken({
      url: `${secret.domain}/oauth/token`,
      form: {
        client_id: secret.clientId,
        client_secret: secret.clientSecret,
        audience: secret.audience ?? `${secret.domain}/api/v2/`,
      },
      fetch: this.#fetch,
      timeoutMs: 5_000,
      error: (message, transient) => new Auth0CredentialsError(message, transient),
    });
    // Auth0 issues Management API tokens for 24 hours by default.
    return { value: token.accessToken, expiresInMs: (token.expiresIn ?? 86_400) * 1000 };
  }
}
