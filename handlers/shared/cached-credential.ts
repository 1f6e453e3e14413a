/**
 * A credential read from a secret, and the access token exchanged for it, each cached: the
 * secret by Powertools (`shared/secrets.ts`) for its max age, the token until shortly before it
 * expires. When the API refuses the credential, {@link CachedCredential.refresh} makes the next
 * read skip both caches, so a rotated secret is picked up at once.
 */
import type * as z from "zod";
import { readJsonSecret, type SecretRead } from "./secrets.js";

/** A token and how long it lives. */
export interface ExchangedToken {
  readonly value: string;
  readonly expiresInMs: number;
}

export interface CachedCredentialOptions<T extends z.ZodType> {
  /** Which secret, its schema, and the caller's error class. */
  readonly secret: Omit<SecretRead<T>, "forceFetch">;
  /** A token is exchanged again this long before it expires. @default 60000 */
  readonly renewBeforeExpiryMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

export class CachedCredential<T extends z.ZodType> {
  readonly #read: (forceFetch: boolean) => Promise<z.output<T>>;
  readonly #renewBeforeExpiryMs: number;
  readonly #now: () => number;
  #forceFetch = false;
  #token?: { readonly secret: string; readonly value: string; readonly renewAt: number };

  public constructor(options: CachedCredentialOptions<T>) {
    this.#read = (forceFetch) => readJsonSecret({ ...options.secret, forceFetch });
    this.#renewBeforeExpiryMs = options.renewBeforeExpiryMs ?? 60_000;
    this.#now = options.now ?? Date.now;
  }

  /** The secret's value; read afresh after a {@link refresh}. */
  public secret(): Promise<z.output<T>> {
    const forceFetch = this.#forceFetch;
    this.#forceFetch = false;
    return this.#read(forceFetch);
  }

  /** A token for `secret`, reused while the secret is unchanged and the token not near its expiry. */
  public async token(
    secret: z.output<T>,
    exchange: (secret: z.output<T>) => Promise<ExchangedToken>,
  ): Promise<string> {
    const key = JSON.stringify(secret);
    const cached = this.#token;
    if (cached && cached.secret === key && this.#now() < cached.renewAt) return cached.value;
    const { value, expiresInMs } = await exchange(secret);
    this.#token = {
      secret: key,
      value,
      renewAt: this.#now() + Math.max(0, expiresInMs - this.#renewBeforeExpiryMs),
    };
    return value;
  }

  /** The API refused the credential: the next read skips every cache. */
  public refresh(): void {
    this.#forceFetch = true;
    this.#token = undefined;
  }
}
