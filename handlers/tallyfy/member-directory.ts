/**
 * Email -> Tallyfy member id, cached for the life of a Lambda container.
 *
 * Tallyfy has no lookup by email, so resolving one costs a search and, on a miss, the whole member
 * list. The directory keeps the list and reloads it on a miss only when it is older than
 * `maxStalenessMs`; a member created elsewhere in that window is caught by Tallyfy itself, which
 * answers an invite of an existing email with 422, after which the caller reloads.
 */
import type { CallOptions, TallyfyClient } from "./client.js";

export interface MemberDirectoryOptions {
  /** A miss reloads the list only if it is older than this. @default 60000 */
  readonly maxStalenessMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

export class MemberDirectory {
  readonly #ids = new Map<string, number>();
  readonly #client: TallyfyClient;
  readonly #maxStalenessMs: number;
  readonly #now: () => number;
  #loadedAt?: number;
  #loading?: Promise<void>;

  public constructor(client: TallyfyClient, options: MemberDirectoryOptions = {}) {
    this.#client = client;
    this.#maxStalenessMs = options.maxStalenessMs ?? 60_000;
    this.#now = options.now ?? Date.now;
  }

  /** The member id for an email (ignoring case), or undefined when Tallyfy has no such member. */
  public async idOf(email: string, opts?: CallOptions): Promise<number | undefined> {
    const key = email.trim().toLowerCase();
    const cached = this.#ids.get(key);
    if (cached !== undefined) return cached;
    const stale = this.#loadedAt === undefined || this.#now() - this.#loadedAt > this.#maxStalenessMs;
    if (stale) await this.reload(opts);
    return this.#ids.get(key);
  }

  /** Reads the full member list again; concurrent callers share one reload. */
  public async reload(opts?: CallOptions): Promise<void> {
    this.#loading ??= (async () => {
      try {
        const members = await this.#client.members.list(opts);
        this.#ids.clear();
        for (const member of members) this.#ids.set(member.email.trim().toLowerCase(), member.id);
        this.#loadedAt = this.#now();
      } finally {
        this.#loading = undefined;
      }
    })();
    await this.#loading;
  }

  public remember(email: string, id: number): void {
    this.#ids.set(email.trim().toLowerCase(), id);
  }

  /** Drops an id Tallyfy no longer knows (404), so the next lookup reloads. */
  public forget(email: string): void {
    this.#ids.delete(email.trim().toLowerCase());
    this.#loadedAt = undefined;
  }
}
