/** What a reconcile came to, the writes it counts, and what the person and group sides share. */
import type { CoreConfig } from "../core/config.js";
import type { ReconcileMessage } from "../core/reconcile-message.js";
import type { Directory } from "../directory/directory.js";
import type { TallyfyClient } from "./client.js";
import type { MemberDirectory } from "./member-directory.js";

export interface ReconcileOutcome {
  readonly status: "applied" | "noop";
  readonly reason?: string;
}

export interface ReconcilerDeps {
  readonly client: TallyfyClient;
  readonly directory: Directory;
  /** Email -> member id, cached per container; trusted only to find. */
  readonly members: MemberDirectory;
  /** Where the reconciles a person's change asks of groups go. */
  readonly queue: { send(messages: readonly ReconcileMessage[]): Promise<void> };
  readonly config: CoreConfig;
  /** Called for each Tallyfy write made, for metrics. */
  readonly onWrite?: (operation: string) => void;
  /** A departure the brake held (once per hold), with the reason. */
  readonly onDepartureHeld?: (email: string, reason: string) => void;
  /** The clock the departure brake's window is kept by. @default Date.now */
  readonly now?: () => number;
  /** Tallyfy took a guest's profile PUT but kept its old values. */
  readonly onGuestProfileNotApplied?: (email: string, fields: readonly string[]) => void;
}

/** True when this revision was reconciled under the same configuration: nothing to do. */
export function isReconciled(
  revision: number,
  reconciled: { readonly revision: number; readonly config: string } | undefined,
  fingerprint: string,
): boolean {
  return reconciled !== undefined && reconciled.revision >= revision && reconciled.config === fingerprint;
}

/** Counts the writes of one reconcile, so it reports whether it changed Tallyfy. */
export class Writes {
  #count = 0;

  public constructor(private readonly onWrite?: (operation: string) => void) {}

  public async run<T>(operation: string, call: () => Promise<T>): Promise<T> {
    const result = await call();
    this.#count++;
    this.onWrite?.(operation);
    return result;
  }

  public outcome(): ReconcileOutcome {
    return this.#count > 0 ? { status: "applied" } : { status: "noop" };
  }
}
