/**
 * `holds`: the departures the departure brake holds, and an administrator's decision on them.
 * Approving applies exactly the departures listed as held at that moment (one held later waits
 * for its own decision); rejecting keeps the people, and the decision stays on record.
 */
import type { DepartureHold } from "../handlers/core/departure-brake.js";
import { personKey } from "../handlers/core/desired-state.js";
import type { ReconcileMessage } from "../handlers/core/reconcile-message.js";
import type { DepartureHolds, HeldPerson } from "../handlers/directory/holds.js";

export interface HoldsPorts {
  readonly holds: Pick<DepartureHolds, "list" | "decide">;
  /** Where the reconcile of each decided person goes. */
  readonly reconcile: (messages: readonly ReconcileMessage[]) => Promise<void>;
  /** @default Date.now */
  readonly now?: () => number;
}

/** What a decision came to, person by person. */
export interface Decided {
  readonly decided: readonly string[];
  /** Named, but not held now (released, decided already, or never held). */
  readonly notHeld: readonly string[];
}

/** Held departures first, then the people an administrator kept, then those approved and not yet applied. */
export async function listHolds(ports: Pick<HoldsPorts, "holds">): Promise<HeldPerson[]> {
  const order: Record<DepartureHold["state"], number> = { held: 0, rejected: 1, approved: 2 };
  return (await ports.holds.list()).sort((a, b) => order[a.hold.state] - order[b.hold.state]);
}

/**
 * Approves or rejects the held departures of `emails` (`"all"`: every one held now), each only
 * if it is still the hold that was read, then asks for each person's reconcile.
 */
export async function decideHolds(
  ports: HoldsPorts,
  decision: { readonly state: "approved" | "rejected"; readonly by: string },
  emails: readonly string[] | "all",
): Promise<Decided> {
  const held = (await ports.holds.list()).filter((h) => h.hold.state === "held");
  const wanted = emails === "all" ? held.map((h) => h.email) : [...new Set(emails.map(personKey))];
  const at = new Date((ports.now ?? Date.now)()).toISOString();
  const decided: string[] = [];
  const notHeld: string[] = [];
  const messages: ReconcileMessage[] = [];
  for (const email of wanted) {
    const hold = held.find((h) => h.email === email)?.hold;
    const revision = hold && (await ports.holds.decide(email, hold.v, { ...decision, at }));
    if (revision === undefined) {
      notHeld.push(email);
      continue;
    }
    decided.push(email);
    messages.push({ kind: "person", key: email, revision });
  }
  await ports.reconcile(messages);
  return { decided, notHeld };
}

/** The list as an administrator reads it. */
export function renderHolds(list: readonly HeldPerson[]): string {
  if (list.length === 0) return "no departures held";
  const titles: Record<DepartureHold["state"], string> = {
    held: "Held (still active in Tallyfy):",
    rejected: "Kept (departure rejected):",
    approved: "Approved (being applied):",
  };
  const lines: string[] = [];
  for (const state of ["held", "rejected", "approved"] as const) {
    const some = list.filter((h) => h.hold.state === state);
    if (some.length === 0) continue;
    lines.push(titles[state]);
    for (const { address, hold } of some) {
      const decided = hold.decidedBy ? `; ${state} by ${hold.decidedBy} at ${hold.decidedAt}` : "";
      lines.push(`  ${address}  (${hold.source}, held ${hold.heldAt}${decided})`);
      lines.push(`    ${hold.reason}`);
    }
  }
  return lines.join("\n");
}
