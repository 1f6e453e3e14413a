/**
 * The recorder: what a source said, merged into the desired-state directory, and the reconciles
 * that asks for. It is ingest's half of the pipeline, as the reconciler is apply's: the domain
 * decisions live here (a departure resolved through the link the directory made, a deleted group
 * fanned out to the people in it, an email change reported once, an event a confined source may
 * not apply refused alone), and the ports carry them out. No AWS: the handler is glue.
 */
import type { SyncConfig } from "./config.js";
import {
  assertNotFuture,
  configFingerprint,
  type EventSource,
  ForeignPersonError,
  groupKeyOf,
  groupUpdates,
  membershipKey,
  type Person,
  personKey,
  type Version,
  versionOf,
} from "./desired-state.js";
import type { IdentityEvent } from "./identity-event.js";
import type { ReconcileMessage } from "./reconcile-message.js";
import type { Translation } from "./source.js";

/** What the recorder needs of the directory. */
export interface RecordingDirectory {
  /** Links the source's user to the email first seen for them; returns the linked email, and the email last reported as a change. */
  link(
    source: string,
    userId: string,
    email: string,
  ): Promise<{ readonly email: string; readonly reported?: string }>;
  linkedEmail(source: string, userId: string): Promise<string | undefined>;
  /** True for exactly one caller reporting this email change; {@link releaseEmailChangeReport} gives it back. */
  claimEmailChangeReport(source: string, userId: string, email: string): Promise<boolean>;
  releaseEmailChangeReport(source: string, userId: string, email: string): Promise<void>;
  membersOfIdpGroups(names: readonly string[]): Promise<readonly Person[]>;
  record(
    event: IdentityEvent,
    config: SyncConfig,
    source?: EventSource,
  ): Promise<{ readonly email: string; readonly revision: number; readonly urgent?: boolean }>;
  recordGroupFacts(
    key: string,
    update: { readonly name?: string; readonly description?: string },
    v: Version,
  ): Promise<number>;
}

/** A source's user who now has another email than the one Tallyfy knows them by. */
export interface EmailChange {
  readonly source: string;
  readonly subject: string;
  /** The email the sync provisioned them under, which Tallyfy keeps. */
  readonly from: string;
  readonly to: string;
  readonly eventId?: string;
}

export interface RecorderPorts {
  readonly directory: RecordingDirectory;
  /** Asks for the reconciles; throws when they may not all be queued. */
  readonly reconcile: (messages: readonly ReconcileMessage[]) => Promise<void>;
  /** Tells an administrator, once, that an email changed: Tallyfy cannot change a member's email. */
  readonly reportEmailChange: (change: EmailChange) => Promise<void>;
  /** Tells an administrator which events were refused while the rest of their message applied. */
  readonly reportRefused: (
    refused: readonly ForeignPersonError[],
    eventId: string | undefined,
  ) => Promise<void>;
  /** A value a source left out, or anything else worth a warning. */
  readonly warn: (message: string, detail: Readonly<Record<string, unknown>>) => void;
  /** @default Date.now */
  readonly now?: () => number;
}

/** What recording a translation came to. */
export interface Recorded {
  readonly status: "applied" | "ignored";
  readonly reason?: string;
}

/** The translations the recorder takes: all but a split, which only puts bodies back on the queue. */
export type RecordableTranslation = Exclude<Translation, { readonly status: "split" }>;

export class Recorder {
  public constructor(private readonly ports: RecorderPorts) {}

  /** Merges what `source` said; throws what should be retried or dead-lettered. */
  public async record(
    translation: RecordableTranslation,
    config: SyncConfig,
    source: EventSource,
  ): Promise<Recorded> {
    const { about } = translation;
    switch (translation.status) {
      case "ignored":
        return { status: "ignored", reason: translation.reason };
      case "departed": {
        // The event cannot say who left: only the link the directory made when it provisioned them can.
        const email = await this.ports.directory.linkedEmail(source.id, translation.subject);
        if (!email) {
          return {
            status: "ignored",
            reason: `user ${translation.subject} is gone from the source and was never provisioned by this sync; nobody is deactivated`,
          };
        }
        const departure: IdentityEvent = {
          id: translation.id,
          time: translation.time,
          type: "user.deactivated",
          user: { email },
        };
        return this.#merge([departure], config, source, about.eventId);
      }
      case "groups-deleted": {
        const removals: IdentityEvent[] = [];
        for (const person of await this.ports.directory.membersOfIdpGroups(translation.names)) {
          for (const name of translation.names) {
            const key = membershipKey(name);
            if (!(Object.hasOwn(person.memberships, key) && person.memberships[key]?.value)) continue;
            removals.push({
              id: translation.id,
              time: translation.time,
              type: "group.member_removed",
              user: { email: person.email },
              group: { name },
            });
          }
        }
        if (removals.length === 0) {
          return {
            status: "ignored",
            reason: `nobody the directory knows is in ${translation.names.join(" / ")}`,
          };
        }
        // Inferred from the deletion, not said of each person: the source does not come to name them.
        return this.#merge(removals, config, { ...source, inferred: true }, about.eventId);
      }
      case "events": {
        for (const warning of translation.warnings ?? [])
          this.ports.warn("value left out", { ...about, warning });
        const events = await this.#linked(translation, source.id);
        // Before the events: a later event naming only one of these ids must find it.
        for (const [id, to] of Object.entries(translation.links ?? {})) {
          await this.ports.directory.link(source.id, id, to);
        }
        return this.#merge(events, config, source, about.eventId);
      }
    }
  }

  /**
   * The events as they apply to the person this sync provisioned: a source user now under
   * another email is still that member (Tallyfy keeps a member's email), and the change is
   * reported once.
   */
  async #linked(translation: Extract<Translation, { status: "events" }>, sourceId: string) {
    const first = translation.events.find((e) => e.user !== undefined)?.user?.email;
    if (translation.subject === undefined || first === undefined) return translation.events;
    const { directory } = this.ports;
    const { email: linked, reported } = await directory.link(
      sourceId,
      translation.subject,
      translation.linkEmail ?? first,
    );
    if (linked === personKey(first)) return translation.events;
    if (
      reported !== personKey(first) &&
      (await directory.claimEmailChangeReport(sourceId, translation.subject, first))
    ) {
      try {
        await this.ports.reportEmailChange({
          source: sourceId,
          subject: translation.subject,
          from: linked,
          to: first,
          eventId: translation.about.eventId,
        });
      } catch (error) {
        await directory.releaseEmailChangeReport(sourceId, translation.subject, first);
        throw error;
      }
    }
    return translation.events.map((e) => (e.user ? { ...e, user: { ...e.user, email: linked } } : e));
  }

  /**
   * Merges each event into the directory and asks for a reconcile of what it touched. An event a
   * confined source may not apply (a person another source provides) is refused alone: the rest
   * applies, and the refusal is reported with its reason.
   */
  async #merge(
    events: readonly IdentityEvent[],
    config: SyncConfig,
    source: EventSource,
    eventId: string | undefined,
  ): Promise<Recorded> {
    const now = (this.ports.now ?? Date.now)();
    for (const event of events) assertNotFuture(event, now);
    const messages = new Map<string, ReconcileMessage>();
    const fingerprint = configFingerprint(config);
    const ignored: string[] = [];
    const refused: ForeignPersonError[] = [];
    for (const event of events) {
      if (event.type === "group.updated") {
        const updates = groupUpdates(event, config);
        if (updates.length === 0) {
          ignored.push(
            `IdP group "${event.group.previousName ?? event.group.name}" is not mapped, or nothing in it changed`,
          );
        }
        for (const { target, ...update } of updates) {
          const key = groupKeyOf(target);
          const revision = await this.ports.directory.recordGroupFacts(key, update, versionOf(event));
          messages.set(`group:${key}`, { kind: "group", key, revision, config: fingerprint });
        }
        continue;
      }
      try {
        const { email, revision, urgent } = await this.ports.directory.record(event, config, source);
        // The newest revision, on the departures lane if any of the events took access away.
        const earlier = messages.get(`person:${email}`)?.urgent;
        messages.set(`person:${email}`, {
          kind: "person",
          key: email,
          revision,
          config: fingerprint,
          ...(urgent || earlier ? { urgent: true as const } : {}),
        });
      } catch (error) {
        if (!(error instanceof ForeignPersonError)) throw error;
        refused.push(error);
      }
    }
    const [firstRefusal] = refused;
    if (firstRefusal && messages.size === 0) throw firstRefusal;
    if (firstRefusal) await this.ports.reportRefused(refused, eventId);
    if (messages.size === 0) return { status: "ignored", reason: ignored.join("; ") || "nothing to change" };
    await this.ports.reconcile([...messages.values()]);
    return { status: "applied" };
  }
}
