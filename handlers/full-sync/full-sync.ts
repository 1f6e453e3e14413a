/**
 * Full reconciliation: the safety net for events that were lost (a hook Okta never retried, a
 * mapping changed, a member edited by hand in Tallyfy).
 *
 * A run lists every user of each source that can list them, page by page, and records each in
 * the directory by version like any event (the run's start time is the version, so any event
 * newer than the listing wins). It stops between pages when the invocation's time runs short and
 * goes on from the saved cursor in the next one. At the end, in one invocation:
 *
 * 1. departures: people a source manages (linked to it) that a *complete* listing left out, and
 *    whom no event touched since the run started. Applied only when they are at most
 *    `maxDepartureShare` of the source's active people; above it the run stops, changes nothing
 *    more, and says how many it held back. A listing that failed infers no departure at all.
 * 2. drift: the desired state against one read of Tallyfy (tallyfy/drift.ts); each drifted
 *    person or group gets a reconcile on the queue (the full sync itself never writes to Tallyfy).
 * 3. the report: what was corrected, what was held back, and the members and guests no source
 *    knows (never changed), as JSON to the report bucket, and a summary in the log.
 */
import { randomUUID } from "node:crypto";
import { FULL_SYNC_STALE_AFTER_MS, FullSyncMetric } from "../contracts/full-sync.js";
import type { SyncConfig } from "../core/config.js";
import { configFingerprint, ForeignPersonError, type Person, versionOf } from "../core/desired-state.js";
import type { IdentityEvent } from "../core/identity-event.js";
import type { ReconcileMessage } from "../core/reconcile-message.js";
import type { AnyIdentitySource, ListedUser } from "../core/source.js";
import type { Directory, PersonRecord } from "../directory/directory.js";
import { isOutOfTime } from "../shared/errors.js";
import { computeDrift, type DriftChange, type TallyfySnapshot } from "../tallyfy/drift.js";
import type { FullSyncStore, LinkItem, RunState } from "./store.js";

export interface FullSyncOptions {
  /** Reconciles go here, as the ingest function sends them. */
  readonly queue: { send(messages: readonly ReconcileMessage[]): Promise<void> };
  readonly directory: Directory;
  readonly store: FullSyncStore;
  /** The sources to list, in order; a source without `listUsers` is skipped. */
  readonly sources: readonly AnyIdentitySource[];
  /** A source's clients, built once per container (paced at the full sync's share of the budget). */
  readonly connection: (source: AnyIdentitySource) => unknown;
  readonly config: SyncConfig;
  /** Reads Tallyfy's members, guests and groups (read-only). */
  readonly tallyfy: () => Promise<TallyfySnapshot>;
  /** Writes the report; returns where it went. */
  readonly writeReport: (runId: string, report: FullSyncReport) => Promise<string>;
  /** The most departures a run applies, as a share of a source's active people. @default 0.05 */
  readonly maxDepartureShare?: number;
  /** Milliseconds kept in hand at the end of an invocation. @default 5000 */
  readonly marginMs?: number;
  /**
   * A run that started longer ago than this is abandoned when the next is scheduled: the state
   * machine that carried it has timed out by then. @default 12 h (the state machine's timeout)
   */
  readonly staleAfterMs?: number;
  readonly onMetric?: (name: FullSyncMetric, value: number) => void;
  readonly log?: (message: string, detail: Record<string, unknown>) => void;
  /** @default Date.now */
  readonly now?: () => number;
}

/** What one invocation says: the Step Functions loop invokes again until `done`. */
export interface StepResult {
  readonly runId: string;
  readonly done: boolean;
  /** Why the invocation did nothing (a run is already in progress). */
  readonly skipped?: string;
}

export interface HeldDeparture {
  readonly source: string;
  readonly subject: string;
  readonly email: string;
}

export interface FullSyncReport {
  readonly runId: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly sources: RunState["sources"];
  /** The run stopped at the safety limit: nothing in `held` was changed. */
  readonly stopped?: { readonly reason: string; readonly departures: number; readonly share: number };
  readonly counts: {
    readonly corrected: number;
    readonly held: number;
    readonly unmanagedMembers: number;
    readonly unmanagedGuests: number;
    readonly departures: number;
    readonly departuresHeld: number;
  };
  /** Differences a reconcile was queued for. */
  readonly corrected: readonly DriftChange[];
  /** Differences left as they are because the run stopped. */
  readonly held: readonly DriftChange[];
  /** Tallyfy members and guests no source knows: reported, never changed. */
  readonly unmanaged: { readonly members: readonly string[]; readonly guests: readonly string[] };
  /** Departures the departure brake holds for an administrator (`holds approve | reject`). */
  readonly departuresHeld: readonly {
    readonly email: string;
    readonly source: string;
    readonly heldAt: string;
    readonly reason: string;
  }[];
}

/** Users recorded at once within a page. */
const CONCURRENCY = 8;

export class FullSync {
  readonly #o: FullSyncOptions;
  readonly #now: () => number;
  readonly #listing: readonly AnyIdentitySource[];

  public constructor(options: FullSyncOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#listing = options.sources.filter((s) => s.listUsers !== undefined);
  }

  /**
   * One invocation: starts a run (no `runId`) or goes on with `runId`, until done or until
   * `deadline` (epoch ms) comes within the margin.
   */
  public async step(
    input: { readonly runId?: string; readonly executionId?: string },
    deadline: number,
  ): Promise<StepResult> {
    const stored = await this.#o.store.run();
    let state: RunState;
    const own =
      stored !== undefined && input.executionId !== undefined && stored.executionId === input.executionId;
    if (input.runId === undefined && own && stored.phase !== "done") {
      // The state machine retried its first step after a failure: the run it started goes on.
      state = stored;
    } else if (input.runId === undefined) {
      const stale = this.#o.staleAfterMs ?? FULL_SYNC_STALE_AFTER_MS;
      if (stored && stored.phase !== "done" && this.#now() - Date.parse(stored.startedAt) < stale) {
        this.#o.onMetric?.(FullSyncMetric.Skipped, 1);
        return { runId: stored.runId, done: true, skipped: `run ${stored.runId} is still in progress` };
      }
      state = {
        executionId: input.executionId,
        runId: `${new Date(this.#now()).toISOString().slice(0, 10)}-${randomUUID().slice(0, 8)}`,
        startedAt: new Date(this.#now()).toISOString(),
        phase: "listing",
        sourceIndex: 0,
        sources: {},
        reconciles: 0,
        invocations: 0,
      };
      await this.#o.store.replace(state, stored);
    } else {
      if (!stored || stored.runId !== input.runId)
        return { runId: input.runId, done: true, skipped: "another run replaced this one" };
      state = stored;
    }
    state.invocations++;
    this.#listedThisInvocation = 0;
    const margin = this.#o.marginMs ?? 5_000;
    const hasTime = () => this.#now() < deadline - margin;

    while (state.phase === "listing" && hasTime()) {
      const source = this.#listing[state.sourceIndex];
      if (!source) {
        state.phase = "finishing";
        break;
      }
      if ((await this.#list(source, state, deadline, hasTime)) === "out of time") break;
    }
    if (state.phase === "finishing") {
      // The end reads everyone and Tallyfy in one go: it gets an invocation of its own.
      if (this.#listedThisInvocation > 0) {
        await this.#o.store.save(state);
        return { runId: state.runId, done: false };
      }
      await this.#finish(state);
      state.phase = "done";
    }
    await this.#o.store.save(state);
    return { runId: state.runId, done: state.phase === "done" };
  }

  #listedThisInvocation = 0;

  async #list(
    source: AnyIdentitySource,
    state: RunState,
    deadline: number,
    hasTime: () => boolean,
  ): Promise<"listed" | "paused" | "out of time"> {
    const progress = state.sources[source.id] ?? { listed: 0, changed: 0, complete: false, emailChanges: 0 };
    state.sources[source.id] = progress;
    const config = this.#o.config;
    const listingDeadline = deadline - (this.#o.marginMs ?? 5_000) / 2;
    const listing = source.listUsers?.(
      {
        config,
        sourceConfig: config[source.id],
        connection: () => this.#o.connection(source),
        deadline: listingDeadline,
        listedAt: state.startedAt,
        runId: state.runId,
        linked: (id) => this.#o.directory.linkedEmail(source.id, id),
      },
      state.cursor,
    );
    if (!listing) return "listed";
    const pages = listing[Symbol.asyncIterator]();
    try {
      for (;;) {
        // A page is what the source said when it was read: versioned then (taken before the read,
        // so the data is at least that fresh), not at the run's start, however long the run takes.
        const readAt = new Date(this.#now()).toISOString();
        const next = await pages.next();
        if (next.done) break;
        const page = next.value;
        const messages = await this.#record(source.id, page.users, state, progress, readAt);
        await this.#send(messages, state);
        progress.listed += page.users.length;
        this.#listedThisInvocation += page.users.length;
        this.#o.onMetric?.(FullSyncMetric.Listed, page.users.length);
        state.cursor = page.cursor;
        state.outOfTimeAt = undefined;
        if (page.cursor === undefined) break;
        // The page is recorded and its cursor kept: a later invocation goes on from here.
        await this.#o.store.save(state);
        if (!hasTime()) {
          // Closed as `for await` would: the source's listing releases what it holds.
          await pages.return?.();
          return "paused";
        }
      }
      // Closed once every page is recorded (never after a failure): a source may finish what the
      // pages carried (SCIM marks the group changes they recorded as done).
      await pages.return?.();
      progress.complete = true;
    } catch (error) {
      // A page that ran out of this invocation's time (a source that reads each user again, as
      // Okta does for their groups, takes long over a page) is read again by the next one, from
      // the cursor kept before it; one that runs out twice in a row fails the listing. Not
      // closed: a source finishes what a page carried only once the page is recorded (SCIM
      // settles the group changes it carried).
      const page = state.cursor ?? "";
      if (isOutOfTime(error) && state.outOfTimeAt !== page) {
        state.outOfTimeAt = page;
        return "out of time";
      }
      progress.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      this.#o.onMetric?.(FullSyncMetric.ListingFailed, 1);
      this.#o.log?.("full reconciliation: listing failed; no departure is inferred from it", {
        source: source.id,
        runId: state.runId,
        listed: progress.listed,
        error: progress.error,
      });
    }
    state.sourceIndex++;
    state.cursor = undefined;
    state.outOfTimeAt = undefined;
    return "listed";
  }

  async #record(
    sourceId: string,
    users: readonly ListedUser[],
    state: RunState,
    progress: RunState["sources"][string],
    readAt: string,
  ): Promise<ReconcileMessage[]> {
    const config = this.#o.config;
    const fingerprint = configFingerprint(config);
    const messages = new Map<string, ReconcileMessage>();
    const one = async (user: ListedUser) => {
      const first = user.events.find((e) => e.user)?.user?.email;
      if (!first) return;
      const linked = await this.#o.directory.listed(sourceId, user.subject, first, state.runId);
      // As ingest does: the person this sync provisioned keeps the link; the change is reported.
      if (linked !== first.trim().toLowerCase()) progress.emailChanges++;
      // A user counts once however many events describe them (a reactivation, then the state).
      let userChanged = false;
      for (const event of user.events) {
        const at = { ...event, time: readAt } as IdentityEvent;
        const e: IdentityEvent = at.user
          ? ({ ...at, user: { ...at.user, email: linked } } as IdentityEvent)
          : at;
        const recorded = await this.#recordFrom(sourceId, e);
        if (recorded?.changed) {
          userChanged = true;
          messages.set(recorded.email, {
            kind: "person",
            key: recorded.email,
            revision: recorded.revision,
            config: fingerprint,
          });
        }
      }
      if (userChanged) progress.changed++;
    };
    for (let start = 0; start < users.length; start += CONCURRENCY) {
      await Promise.all(users.slice(start, start + CONCURRENCY).map(one));
    }
    return [...messages.values()];
  }

  /**
   * Records an event as coming through `sourceId`; undefined when that source is confined and
   * another source provides the person (the other source decides for them, as at ingest).
   */
  async #recordFrom(sourceId: string, event: IdentityEvent) {
    const confined = this.#listing.find((s) => s.id === sourceId)?.confined;
    try {
      return await this.#o.directory.record(event, this.#o.config, { id: sourceId, confined });
    } catch (error) {
      if (!(error instanceof ForeignPersonError)) throw error;
      this.#o.log?.("full reconciliation: a person another source provides left as it is", {
        source: sourceId,
        reason: error.message,
      });
      return undefined;
    }
  }

  async #send(messages: readonly ReconcileMessage[], state: RunState): Promise<void> {
    if (messages.length === 0) return;
    await this.#o.queue.send(messages);
    state.reconciles += messages.length;
  }

  async #finish(state: RunState): Promise<void> {
    const { directory, config } = this.#o;
    const share = this.#o.maxDepartureShare ?? 0.05;
    const listedFrom = this.#listing.map((s) => s.id);
    const { people, links } = await this.#o.store.everyone(listedFrom);
    const byEmail = new Map(people.map((p) => [p.email, p]));
    const since = Date.parse(state.startedAt);

    // 1. Departures, per source whose listing completed.
    const candidates: (HeldDeparture & { person: PersonRecord })[] = [];
    // The share is each source's own: a listing that drops most of one source's people is held
    // however many people other sources manage.
    const over: { source: string; departures: number; active: number }[] = [];
    for (const source of listedFrom) {
      if (!state.sources[source]?.complete) continue;
      let active = 0;
      let departures = 0;
      for (const link of links.filter((l) => l.source === source)) {
        const person = byEmail.get(link.email);
        if (!person || person.status?.value === "inactive") continue;
        active++;
        if (link.seen === state.runId || touchedSince(person, since)) continue;
        candidates.push({ ...departureOf(link), person });
        departures++;
      }
      if (departures > Math.floor(active * share)) over.push({ source, departures, active });
    }
    const stopped =
      over.length > 0
        ? {
            reason: `${over
              .map(
                (o) =>
                  `${o.departures} of ${o.source}'s ${o.active} managed people (${percent(o.departures, o.active)})`,
              )
              .join(
                ", ",
              )} would be deprovisioned, above the limit of ${percent(share, 1)} of a source: nothing was changed`,
            departures: candidates.length,
            share: Math.max(...over.map((o) => (o.active === 0 ? 1 : o.departures / o.active))),
          }
        : undefined;
    const inferred = new Set<string>();
    if (!stopped) {
      for (const candidate of candidates) {
        const recorded = await this.#recordFrom(candidate.source, {
          id: `full-sync:${state.runId}:departed:${candidate.subject}`,
          time: state.startedAt,
          type: "user.deactivated",
          user: { email: candidate.email },
        });
        if (!recorded?.changed) continue;
        const { revision } = recorded;
        inferred.add(candidate.email);
        const person = await directory.person(candidate.email);
        if (person) byEmail.set(candidate.email, person);
        this.#o.log?.("full reconciliation: departure inferred from a complete listing", {
          source: candidate.source,
          subject: candidate.subject,
          revision,
        });
      }
    }

    // 2. Drift against Tallyfy.
    const snapshot = await this.#o.tallyfy();
    const everyone = [...byEmail.values()];
    const drift = computeDrift(config, everyone, snapshot, inferred);
    const held: DriftChange[] = stopped
      ? [
          ...candidates.map(
            (c): DriftChange => ({
              entity: "person",
              key: c.email,
              name: c.email,
              action: "deprovision",
              detail: `${c.source} user ${c.subject} is not in the listing`,
              inferred: true,
            }),
          ),
          ...drift.changes,
        ]
      : [];
    // Every departure inferred is reconciled, whatever the comparison by email found: the
    // reconciler finds the member by the id the sync recorded.
    const inferredChanges = [...inferred]
      .filter((email) => !drift.changes.some((c) => c.entity === "person" && c.key === email))
      .map(
        (email): DriftChange => ({
          entity: "person",
          key: email,
          name: email,
          action: "deprovision",
          detail: "inferred from a complete listing",
          inferred: true,
        }),
      );
    const corrected = stopped ? [] : [...drift.changes, ...inferredChanges];
    if (!stopped) await this.#correct(corrected, byEmail, state);

    // 3. The report.
    const departuresHeld = [...byEmail.values()].flatMap((p) =>
      p.departureHold?.state === "held"
        ? [
            {
              email: p.email,
              source: p.departureHold.source,
              heldAt: p.departureHold.heldAt,
              reason: p.departureHold.reason,
            },
          ]
        : [],
    );
    const report: FullSyncReport = {
      runId: state.runId,
      startedAt: state.startedAt,
      finishedAt: new Date(this.#now()).toISOString(),
      sources: state.sources,
      ...(stopped ? { stopped } : {}),
      counts: {
        corrected: corrected.length,
        held: held.length,
        unmanagedMembers: drift.unmanaged.members.length,
        unmanagedGuests: drift.unmanaged.guests.length,
        departures: inferred.size,
        departuresHeld: departuresHeld.length,
      },
      corrected,
      held,
      unmanaged: drift.unmanaged,
      departuresHeld,
    };
    state.report = await this.#o.writeReport(state.runId, report);
    const metric = this.#o.onMetric;
    metric?.(FullSyncMetric.Corrected, corrected.length);
    metric?.(FullSyncMetric.Held, held.length);
    metric?.(FullSyncMetric.Unmanaged, drift.unmanaged.members.length + drift.unmanaged.guests.length);
    metric?.(FullSyncMetric.Departures, inferred.size);
    metric?.(FullSyncMetric.Stopped, stopped ? 1 : 0);
    this.#o.log?.(stopped ? `full reconciliation stopped: ${stopped.reason}` : "full reconciliation done", {
      runId: state.runId,
      report: state.report,
      ...report.counts,
    });
  }

  /** Queues a reconcile of each drifted person and group; the reconciler makes the change. */
  async #correct(
    changes: readonly DriftChange[],
    people: ReadonlyMap<string, PersonRecord>,
    state: RunState,
  ): Promise<void> {
    const { directory } = this.#o;
    const fingerprint = configFingerprint(this.#o.config);
    const messages = new Map<string, ReconcileMessage>();
    // A group's drift is the person's too: the person's reconcile indexes them under the group
    // (so the group's reconcile finds a member to take out) and asks for the group itself.
    const entities = changes.flatMap((change) =>
      change.entity === "group"
        ? [change, { ...change, entity: "person" as const, key: change.detail, name: change.detail }]
        : [change],
    );
    for (const change of entities) {
      const id = `${change.entity}:${change.key}`;
      const asked = messages.get(id);
      if (asked) {
        if (change.action === "deprovision") messages.set(id, { ...asked, urgent: true });
        continue;
      }
      if (change.entity === "person") {
        const person = people.get(change.key);
        const pending = person && (person.reconciled?.revision ?? -1) < person.revision;
        // A reconcile already asked for reads the newest state: a second message would only repeat it.
        const revision = pending ? person.revision : await directory.touchPerson(change.key);
        // A departure (found as drift, or inferred) goes on the departures lane.
        const urgent = change.action === "deprovision" ? { urgent: true as const } : {};
        if (revision !== undefined)
          messages.set(id, { kind: "person", key: change.key, revision, config: fingerprint, ...urgent });
      } else {
        const { revision, pending } = await directory.touchGroup(change.key, this.#now());
        if (pending) continue;
        messages.set(id, { kind: "group", key: change.key, revision, config: fingerprint });
      }
    }
    await this.#send([...messages.values()], state);
    for (const message of messages.values()) {
      if (message.kind === "group") await directory.groupQueued(message.key, message.revision, this.#now());
    }
  }
}

function departureOf(link: LinkItem): HeldDeparture {
  return { source: link.source, subject: link.subject, email: link.email };
}

/** An event newer than the run's start set something: the listing may simply have missed it. */
export function touchedSince(person: Person, since: number): boolean {
  // The absences a full list implies carry its version: the stamp stands for them all, without
  // expanding every mapped group of every person at the run's end.
  const facts = [
    ...Object.values(person.profile),
    ...Object.values(person.memberships),
    person.groupListAt === undefined ? undefined : { v: person.groupListAt },
    person.guest,
    person.role,
    person.status,
  ];
  const cutoff = versionOf({ time: new Date(since).toISOString(), id: "" });
  return facts.some((fact) => fact !== undefined && fact.v >= cutoff);
}

function percent(part: number, whole: number): string {
  return `${whole === 0 ? 100 : Math.round((part / whole) * 1000) / 10}%`;
}
