/**
 * The Microsoft Graph credential: an Entra app registration's client credentials, from a Secrets
 * Manager secret holding `{"tenantId", "clientId", "clientSecret"}` or, with a certificate,
 * `{"tenantId", "clientId", "certificate", "privateKey"}` (PEM). The access token is requested with
 * client credentials (a certificate signs a client assertion) and cached until shortly before it
 * expires.
 */
import { createPrivateKey, randomUUID, sign, X509Certificate } from "node:crypto";
import * as z from "zod";
import { SyncError } from "../../core/errors.js";
import { CachedCredential, type ExchangedToken } from "../../shared/cached-credential.js";
import { CredentialsError } from "../../shared/errors.js";
import { requestToken } from "../../shared/oauth.js";
import type { SecretsManagerCredentialsOptions } from "../../shared/secrets.js";

// A national cloud's https endpoint, or plain http on loopback for the local fake.
const baseUrl = z
  .string()
  .trim()
  .transform((value) => value.replace(/\/+$/, ""))
  .refine(
    (url) =>
      /^https:\/\/[a-z0-9.-]+(\/[\w.-]+)*$/i.test(url) ||
      /^http:\/\/127\.0\.0\.1(:\d+)?(\/[\w.-]+)*$/.test(url),
    "must be an https URL",
  );

const common = {
  tenantId: z.string().trim().min(1),
  clientId: z.string().trim().min(1),
  /** @default "https://login.microsoftonline.com" */
  authorityUrl: baseUrl.optional(),
  /** @default "https://graph.microsoft.com/v1.0" */
  graphUrl: baseUrl.optional(),
};

export const EntraSecretSchema = z.union([
  z.object({ ...common, clientSecret: z.string().min(1) }),
  z.object({ ...common, certificate: z.string().min(1), privateKey: z.string().min(1) }),
]);
export type EntraSecret = z.output<typeof EntraSecretSchema>;

/** The Entra secret could not be read or used. */
export class EntraCredentialsError extends CredentialsError {}

/** An Entra notification arrived but no credential is configured. Permanent until the stack is updated. */
export class EntraNotConfiguredError extends SyncError {
  public readonly transient = false;
}

export interface GraphCredentials {
  /** `https://graph.microsoft.com/v1.0` */
  graphUrl(): Promise<string>;
  authorization(): Promise<string>;
  /** Graph said 401: the next {@link authorization} must not come from a cache. */
  refresh(): void;
}

export type SecretsManagerGraphCredentialsOptions = SecretsManagerCredentialsOptions;

const GRAPH_SCOPE = "https://graph.microsoft.com/.default";

/** {@link GraphCredentials} from Secrets Manager. Keep one per container: it is the cache. */
export class SecretsManagerGraphCredentials implements GraphCredentials {
  readonly #credential: CachedCredential<typeof EntraSecretSchema>;
  readonly #fetch: typeof globalThis.fetch;
  readonly #now: () => number;

  public constructor(options: SecretsManagerGraphCredentialsOptions) {
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#now = options.now ?? Date.now;
    this.#credential = new CachedCredential({
      now: options.now,
      secret: {
        provider: options.provider,
        secretId: options.secretId,
        maxAgeSeconds: options.maxAgeSeconds ?? 300,
        schema: EntraSecretSchema,
        shapes:
          '{"tenantId", "clientId", "clientSecret"} or {"tenantId", "clientId", "certificate", "privateKey"}',
        error: (message, transient, cause) => new EntraCredentialsError(message, transient, { cause }),
      },
    });
  }

  public async graphUrl(): Promise<string> {
    return (await this.#credential.secret()).graphUrl ?? "https://graph.microsoft.com/v1.0";
  }

  public async authorization(): Promise<string> {
    const secret = await this.#credential.secret();
    return `Bearer ${await this.#credential.token(secret, (s) => this.#exchange(s))}`;
  }

  public refresh(): void {
    this.#credential.refresh();
  }

  async #exchange(secret: EntraSecret): Promise<ExchangedToken> {
    const authority = secret.authorityUrl ?? "https://login.microsoftonline.com";
    const url = `${authority}/${encodeURIComponent(secret.tenantId)}/oauth2/v2.0/token`;
    const form: Record<string, string> =
      "clientSecret" in secret
        ? { client_id: secret.clientId, client_secret: secret.clientSecret, scope: GRAPH_SCOPE }
        : {
            client_id: secret.clientId,
            scope: GRAPH_SCOPE,
            client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            client_assertion: certificateAssertion(secret, url, this.#now()),
          };
    const token = await requestToken({
      url,
      form,
      fetch: this.#fetch,
      timeoutMs: 5_000,
      error: (message, transient) => new EntraCredentialsError(message, transient),
    });
    return { value: token.accessToken, expiresInMs: (token.expiresIn ?? 3600) * 1000 };
  }
}

/** The client assertion Entra takes for a certificate credential: RS256, `x5t#S256` of the certificate. */
export function certificateAssertion(
  secret: Extract<EntraSecret, { certificate: string }>,
  audience: string,
  now: number,
): string {
  let key: ReturnType<typeof createPrivateKey>;
  let thumbprint: Buffer;
  try {
    key = createPrivateKey(secret.privateKey);
    thumbprint = Buffer.from(
      new X509Certificate(secret.certificate).fingerprint256.replaceAll(":", ""),
      "hex",
    );
  } catch {
    throw new EntraCredentialsError(
      "the Entra secret's certificate or privateKey is not readable PEM",
      false,
    );
  }
  const iat = Math.floor(now / 1000);
  const header = { alg: "RS256", typ: "JWT", "x5t#S256": thumbprint.toString("base64url") };
  const claims = {
    iss: secret.clientId,
    sub: secret.clientId,
    aud: audience,
    iat,
    nbf: iat,
    exp: iat + 300,
    jti: randomUUID(),
  };
  const input = `${b64(JSON.stringify(header))}.${b64(JSON.stringify(claims))}`;
  return `${input}.${sign("RSA-SHA256", Buffer.from(input), key).toString("base64url")}`;
}

const b64 = (text: string) => Buffer.from(text).toString("base64url");

/** A fixed credential for local runs against the fake Graph. */
export class StaticGraphCredentials implements GraphCredentials {
  public constructor(
    private readonly url: string,
    private readonly token: string,
  ) {}

  public async graphUrl(): Promise<string> {
    return this.url;
  }

  public async authorization(): Promise<string> {
    return `Bearer ${this.token}`;
  }

  public refresh(): void {
    // Nothing to renew.
  }
}
