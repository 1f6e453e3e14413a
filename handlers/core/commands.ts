/**
 * The command model: what the ingest handler asks the apply handler to make true in Tallyfy.
 *
 * An identity event becomes one command per Tallyfy entity it touches (one member, one guest, or
 * one group), because each entity is a FIFO message group: commands for one entity are applied
 * in order and never concurrently, which is what makes Tallyfy's read-modify-write group lists
 * safe. Commands state desired facts ("in this group", "at least this role"), not operations, so
 * applying one twice changes nothing the second time.
 */
import { createHash } from "node:crypto";
import * as z from "zod";
import {
  type CoreConfig,
  isMemberEmail,
  mappedTallyfyGroups,
  roleFromGroups,
  roleOfGroup,
  sameGroup,
  tallyfyGroupsOf,
} from "./config.js";
import { SyncError } from "./errors.js";
import type { EventUser, IdentityEvent } from "./identity-event.js";
import { describeIssues } from "./issues.js";
import { ROLES } from "./roles.js";

export const COMMAND_VERSION = 1;

const Role = z.enum(ROLES);

export const ProfileSchema = z.object({
  firstName: z.string().optional(),
  lastName: z.string().optional(),
  phone: z.string().optional(),
  jobTitle: z.string().optional(),
  jobDescription: z.string().optional(),
  team: z.string().optional(),
  timezone: z.string().optional(),
});
export type Profile = z.output<typeof ProfileSchema>;
export const PROFILE_FIELDS = [
  "firstName",
  "lastName",
  "phone",
  "jobTitle",
  "jobDescription",
  "team",
  "timezone",
] as const;

/** How a command moves the role: set it, raise it to at least, or drop it if it is the one a group gave. */
export const RoleChangeSchema = z.union([
  z.object({ set: Role }),
  z.object({ atLeast: Role }),
  z.object({ demoteFrom: Role, to: Role }),
]);
export type RoleChange = z.output<typeof RoleChangeSchema>;

/** Whether the user should be in one mapped Tallyfy group. */
export const MembershipSchema = z.object({ group: z.string().min(1), present: z.boolean() });

const envelope = {
  v: z.literal(COMMAND_VERSION),
  eventId: z.string().min(1),
  eventType: z.string().min(1),
  time: z.string(),
  /** How many times the command was deferred because the person it needs did not exist yet. */
  attempt: z.number().int().min(0).optional(),
};
const email = z.string().min(3);

export const CommandSchema = z.discriminatedUnion("kind", [
  z.object({
    ...envelope,
    kind: z.literal("member.upsert"),
    email,
    profile: ProfileSchema,
    role: RoleChangeSchema.optional(),
    /** Invite the member when Tallyfy has none with this email. */
    invite: z.boolean(),
    /** Whether the member belongs to these Tallyfy groups. */
    memberships: z.array(MembershipSchema).optional(),
    /** The memberships cover every mapped group (a full IdP list), so they are compared with the member's groups. */
    allGroups: z.boolean().optional(),
  }),
  z.object({ ...envelope, kind: z.literal("member.deactivate"), email, mode: z.enum(["disable", "remove"]) }),
  z.object({ ...envelope, kind: z.literal("member.reactivate"), email }),
  z.object({
    ...envelope,
    kind: z.literal("guest.upsert"),
    email,
    profile: ProfileSchema,
    create: z.boolean(),
    memberships: z.array(MembershipSchema).optional(),
  }),
  z.object({ ...envelope, kind: z.literal("guest.deactivate"), email, mode: z.enum(["disable", "remove"]) }),
  z.object({ ...envelope, kind: z.literal("guest.reactivate"), email }),
  z.object({
    ...envelope,
    kind: z.literal("group.membership"),
    /** The Tallyfy group: a name, or a 32-hex id. */
    group: z.string().min(1),
    email,
    who: z.enum(["member", "guest"]),
    present: z.boolean(),
    /** Known when the command follows an invite, so the group need not look the member up. */
    memberId: z.number().int().optional(),
  }),
  z.object({
    ...envelope,
    kind: z.literal("group.update"),
    group: z.string().min(1),
    name: z.string().min(1).optional(),
    description: z.string().optional(),
  }),
]);

export type Command = z.output<typeof CommandSchema>;
export type CommandKind = Command["kind"];
type Envelope = Pick<Command, "v" | "eventId" | "eventType" | "time">;

/** True when a message body is a command rather than an identity event (a deferred command coming back). */
export function looksLikeCommand(body: string): boolean {
  return /^\s*\{\s*"v"\s*:\s*1\s*,/.test(body) && body.includes('"kind"');
}

/** A message body on the commands queue that is not a valid command. Permanent. */
export class InvalidCommandError extends SyncError {
  public readonly transient = false;
}

export function parseCommand(body: string): Command {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new InvalidCommandError("command body is not valid JSON");
  }
  const parsed = CommandSchema.safeParse(json);
  if (!parsed.success) throw new InvalidCommandError(`invalid command: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/** The Tallyfy entity a command changes: its FIFO message group. */
export function entityOf(command: Command): string {
  switch (command.kind) {
    case "group.membership":
    case "group.update":
      return `group:${command.group.trim().toLowerCase()}`;
    case "guest.upsert":
    case "guest.deactivate":
    case "guest.reactivate":
      return `guest:${command.email.toLowerCase()}`;
    default:
      return `member:${command.email.toLowerCase()}`;
  }
}

/**
 * A `MessageGroupId` for the entity: readable when SQS allows it (128 printable ASCII
 * characters), a hash otherwise, so that unicode group names still map to one stable group.
 */
export function messageGroupIdOf(command: Command): string {
  const entity = entityOf(command);
  if (/^[!-~]{1,128}$/.test(entity)) return entity;
  const kind = entity.slice(0, entity.indexOf(":"));
  return `${kind}:${sha256(entity).slice(0, 48)}`;
}

/** Same event and same command, same id: SQS drops a redelivered copy within its 5-minute window. */
export function deduplicationIdOf(command: Command): string {
  const { time: _time, ...stable } = command;
  return sha256(JSON.stringify(stable));
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** What an event turned into: commands, or the reason there are none. */
export interface Translation {
  readonly commands: Command[];
  readonly ignored?: string;
}

/** Turns a validated identity event into commands. Pure: the same event and config give the same commands. */
export function toCommands(event: IdentityEvent, config: CoreConfig): Translation {
  const meta: Envelope = { v: COMMAND_VERSION, eventId: event.id, eventType: event.type, time: event.time };
  switch (event.type) {
    case "user.created":
    case "user.updated":
      return { commands: [upsert(meta, event.user, config)] };
    case "user.deactivated": {
      if (config.deprovision === "none") return { commands: [], ignored: "deprovision is none" };
      const who = isGuest(config, event.user) ? "guest" : "member";
      return {
        commands: [{ ...meta, kind: `${who}.deactivate`, email: event.user.email, mode: config.deprovision }],
      };
    }
    case "user.reactivated": {
      const who = isGuest(config, event.user) ? "guest" : "member";
      return { commands: [{ ...meta, kind: `${who}.reactivate`, email: event.user.email }] };
    }
    case "group.member_added":
    case "group.member_removed":
      return membershipChange(
        meta,
        event.user,
        event.group.name,
        event.type === "group.member_added",
        config,
      );
    case "group.updated":
      return groupUpdate(meta, event.group, config);
  }
}

/** The event says so, or else the email's domain decides. */
function isGuest(config: CoreConfig, user: EventUser): boolean {
  return user.guest ?? !isMemberEmail(config, user.email);
}

function profileOf(user: EventUser): Profile {
  const profile: Record<string, string> = {};
  for (const field of PROFILE_FIELDS) {
    const value = user[field];
    if (value !== undefined) profile[field] = value;
  }
  return profile;
}

function membershipsFrom(idpGroups: readonly string[], config: CoreConfig) {
  return mappedTallyfyGroups(config).map((group) => ({
    group,
    present: idpGroups.some((idp) => tallyfyGroupsOf(config, idp).some((target) => sameGroup(target, group))),
  }));
}

function upsert(meta: Envelope, user: EventUser, config: CoreConfig): Command {
  const memberships = user.groups ? membershipsFrom(user.groups, config) : undefined;
  const profile = profileOf(user);
  if (isGuest(config, user)) {
    return { ...meta, kind: "guest.upsert", email: user.email, profile, create: true, memberships };
  }
  // An explicit role wins; a full group list decides otherwise; without either the role is left alone.
  const role = user.role
    ? { set: user.role }
    : user.groups
      ? { set: roleFromGroups(config, user.groups) }
      : undefined;
  return {
    ...meta,
    kind: "member.upsert",
    email: user.email,
    profile,
    role,
    invite: true,
    memberships,
    allGroups: memberships ? true : undefined,
  };
}

/**
 * A single membership change goes to the person's own message group, not the group's: there it
 * is ordered with the event that creates the person, and the group change that follows carries
 * the member id. Sent to the group directly, a change for someone not created yet would hold up
 * every other change to that group while it waits.
 */
function membershipChange(
  meta: Envelope,
  user: EventUser,
  idpGroup: string,
  added: boolean,
  config: CoreConfig,
): Translation {
  const memberships = tallyfyGroupsOf(config, idpGroup).map((group) => ({ group, present: added }));
  if (isGuest(config, user)) {
    if (memberships.length === 0) return { commands: [], ignored: `IdP group "${idpGroup}" is not mapped` };
    return {
      commands: [
        { ...meta, kind: "guest.upsert", email: user.email, profile: {}, create: false, memberships },
      ],
    };
  }
  const role = roleOfGroup(config, idpGroup);
  if (memberships.length === 0 && !role)
    return { commands: [], ignored: `IdP group "${idpGroup}" is not mapped` };
  // Without the full list we only know this one group: adding raises to its role at least;
  // removing drops to the default only if this group's role is the one the member has now.
  const change = role
    ? added
      ? { atLeast: role }
      : { demoteFrom: role, to: config.defaultRole }
    : undefined;
  const command: Command = {
    ...meta,
    kind: "member.upsert",
    email: user.email,
    profile: profileOf(user),
    role: change,
    invite: false,
  };
  return { commands: [memberships.length > 0 ? { ...command, memberships } : command] };
}

function groupUpdate(
  meta: Envelope,
  group: { name: string; description?: string; previousName?: string },
  config: CoreConfig,
): Translation {
  const lookup = group.previousName ?? group.name;
  const targets = tallyfyGroupsOf(config, lookup);
  if (targets.length === 0) return { commands: [], ignored: `IdP group "${lookup}" is not mapped` };
  const commands: Command[] = [];
  for (const target of targets) {
    // The Tallyfy group follows an IdP rename when it is mapped by id or under the IdP's own name;
    // a mapping to a different name is the administrator's choice and is kept.
    const follows = /^[0-9a-f]{32}$/i.test(target) || sameGroup(target, lookup);
    const name =
      group.previousName && follows && !sameGroup(group.previousName, group.name) ? group.name : undefined;
    if (name === undefined && group.description === undefined) continue;
    commands.push({ ...meta, kind: "group.update", group: target, name, description: group.description });
  }
  return commands.length > 0 ? { commands } : { commands, ignored: "nothing to change in the mapped group" };
}
