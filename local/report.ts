/**
 * What the local runner prints: the changes in the fake Tallyfy between two moments, and the
 * contents of a dead-letter queue with each message's reason.
 */
import { PurgeQueueCommand, ReceiveMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { LocalQueue } from "./event-source.js";
import type { FakeGroup, FakeGuest, FakeMember, FakeTallyfy } from "./fakes/fake-tallyfy.js";

export interface TallyfyCall {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** A write answered locally by a dry run, never sent. */
  readonly dryRun: boolean;
}

export interface Snapshot {
  readonly members: ReadonlyMap<number, FakeMember>;
  readonly groups: ReadonlyMap<string, FakeGroup>;
  readonly guests: ReadonlyMap<string, FakeGuest>;
}

export function snapshot(fake: FakeTallyfy): Snapshot {
  const copy = <K, V>(map: Map<K, V>) => new Map([...map].map(([k, v]) => [k, structuredClone(v)]));
  return { members: copy(fake.members), groups: copy(fake.groups), guests: copy(fake.guests) };
}

const MEMBER_FIELDS = [
  "first_name",
  "last_name",
  "phone",
  "job_title",
  "job_description",
  "team",
  "timezone",
  "role",
  "status",
] as const;

/** One readable line per change, e.g. `~ member bob@example.com: job_title Engineer -> Staff Engineer`. */
export function describeChanges(before: Snapshot, after: Snapshot): string[] {
  const lines: string[] = [];
  const emailOf = (id: number) => after.members.get(id)?.email ?? before.members.get(id)?.email ?? `#${id}`;
  for (const [id, member] of after.members) {
    const old = before.members.get(id);
    if (!old) {
      lines.push(
        `+ member ${member.email} invited as ${member.role} (${member.first_name} ${member.last_name})`,
      );
      continue;
    }
    const changed = MEMBER_FIELDS.filter((f) => old[f] !== member[f]).map(
      (f) => `${f} ${old[f] ?? "-"} -> ${member[f] ?? "-"}`,
    );
    if (changed.length > 0) lines.push(`~ member ${member.email}: ${changed.join(", ")}`);
  }
  for (const [id, member] of before.members)
    if (!after.members.has(id)) lines.push(`- member ${member.email} removed`);
  for (const [id, group] of after.groups) {
    const old = before.groups.get(id);
    if (!old) {
      lines.push(`+ group ${group.name}`);
      continue;
    }
    const parts: string[] = [];
    if (old.name !== group.name) parts.push(`renamed from ${old.name}`);
    if (old.description !== group.description) parts.push(`description "${group.description}"`);
    const joined = group.members.filter((m) => !old.members.includes(m)).map(emailOf);
    const left = old.members.filter((m) => !group.members.includes(m)).map(emailOf);
    const guestsIn = group.guests.filter((g) => !old.guests.includes(g));
    const guestsOut = old.guests.filter((g) => !group.guests.includes(g));
    if (joined.length + guestsIn.length > 0)
      parts.push(`+ ${[...joined, ...guestsIn.map((g) => `${g} (guest)`)].join(", ")}`);
    if (left.length + guestsOut.length > 0)
      parts.push(`- ${[...left, ...guestsOut.map((g) => `${g} (guest)`)].join(", ")}`);
    if (parts.length > 0) lines.push(`~ group ${group.name}: ${parts.join("; ")}`);
  }
  for (const [email, guest] of after.guests) {
    const old = before.guests.get(email);
    if (!old)
      lines.push(`+ guest ${guest.email} (${[guest.first_name, guest.last_name].filter(Boolean).join(" ")})`);
    else if (Boolean(old.disabled_at) !== Boolean(guest.disabled_at))
      lines.push(`~ guest ${guest.email}: ${guest.disabled_at ? "disabled" : "enabled"}`);
  }
  for (const [email, guest] of before.guests)
    if (!after.guests.has(email)) lines.push(`- guest ${guest.email} removed`);
  return lines;
}

export interface DeadLetter {
  readonly body: string;
  readonly errorType: string;
  readonly errorMessage: string;
  readonly eventId?: string;
  /** The person or group a reconcile was about. */
  readonly entity?: string;
  /** Every message attribute, as strings. */
  readonly attributes: Readonly<Record<string, string>>;
}

/** Reads every message of a dead-letter queue with its reason, then purges the queue. */
export async function readDeadLetters(client: SQSClient, queue: LocalQueue): Promise<DeadLetter[]> {
  const letters: DeadLetter[] = [];
  for (;;) {
    const { Messages = [] } = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: queue.url,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ["All"],
        VisibilityTimeout: 60,
      }),
    );
    if (Messages.length === 0) break;
    for (const message of Messages) {
      const attributes = Object.fromEntries(
        Object.entries(message.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue ?? ""]),
      );
      letters.push({
        body: message.Body ?? "",
        // A message the queue's own redrive moved carries no reason: say so rather than print nothing.
        errorType: attributes.errorType ?? "Redriven",
        errorMessage:
          attributes.errorMessage ?? "moved by the queue's redrive policy after too many receives",
        eventId: attributes.eventId,
        entity: attributes.entity,
        attributes,
      });
    }
  }
  await client.send(new PurgeQueueCommand({ QueueUrl: queue.url }));
  return letters;
}
