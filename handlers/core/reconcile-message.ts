/**
 * The message on the FIFO reconcile queue. It carries no change, only which entity to look at:
 * the reconciler reads that entity's newest desired state, so order, duplicates and redrives
 * cannot make an old change win.
 */
import { createHash } from "node:crypto";
import * as z from "zod";
import { SyncError } from "./errors.js";
import { describeIssues } from "./issues.js";

export const ReconcileMessageSchema = z.strictObject({
  /** A person (key: lower-cased email) or a Tallyfy group (key: its id, or `name:<mapped name>`). */
  kind: z.enum(["person", "group"]),
  key: z.string().min(1).max(1000),
  /** The entity's revision when the message was sent: with the key, its deduplication id. */
  revision: z.number().int().min(0),
  /**
   * The fingerprint of the configuration that asked: part of the deduplication id, so a
   * redelivery under a new configuration is reconciled again rather than dropped as a duplicate.
   */
  config: z.string().max(64).optional(),
  /**
   * The change takes access away (a departure, a demotion from admin): it goes on the departures
   * lane, which joins never wait in front of.
   */
  urgent: z.literal(true).optional(),
});
export type ReconcileMessage = z.output<typeof ReconcileMessageSchema>;

/** A body on the reconcile queue that is not a reconcile message. Permanent. */
export class InvalidMessageError extends SyncError {
  public readonly transient = false;
}

export function parseReconcileMessage(body: string): ReconcileMessage {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new InvalidMessageError("reconcile message is not valid JSON");
  }
  const parsed = ReconcileMessageSchema.safeParse(json);
  if (!parsed.success)
    throw new InvalidMessageError(`invalid reconcile message: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/**
 * The entity's FIFO message group: one entity is reconciled by one consumer at a time. Readable
 * when SQS allows it (128 printable ASCII characters), a hash otherwise.
 */
export function messageGroupIdOf(message: Pick<ReconcileMessage, "kind" | "key">): string {
  const entity = `${message.kind}:${message.key}`;
  if (/^[!-~]{1,128}$/.test(entity)) return entity;
  return `${message.kind}:${sha256(entity).slice(0, 48)}`;
}

/** Key, revision and configuration: a second message for a revision already queued is dropped by SQS. */
export function deduplicationIdOf(message: ReconcileMessage): string {
  return sha256(`${message.kind}:${message.key}:${message.revision}:${message.config ?? ""}`);
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
