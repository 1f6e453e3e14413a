/**
 * `npm start --tallyfy-state <file>`: the Tallyfy organization's final state, read through the
 * API as the product reads it, so the same events can be compared run against run.
 */
import { writeFileSync } from "node:fs";
import type { TallyfyClient } from "../handlers/tallyfy/client.js";

export interface TallyfyState {
  readonly members: Record<string, unknown>[];
  readonly guests: Record<string, unknown>[];
  readonly groups: { name: string; description: string; members: string[]; guests: string[] }[];
}

/** `held`: the people whose departure the brake holds, marked `departureHeld` (they are still active). */
export async function readTallyfyState(
  client: TallyfyClient,
  held: ReadonlySet<string> = new Set(),
): Promise<TallyfyState> {
  const [members, guests, groups] = await Promise.all([
    client.members.list(),
    client.guests.list(),
    client.groups.list(),
  ]);
  const emailOf = new Map(members.map((m) => [m.id, m.email.toLowerCase()]));
  const byEmail = <T extends { email: string }>(a: T, b: T) => a.email.localeCompare(b.email);
  return {
    members: members.sort(byEmail).map((m) => ({
      email: m.email,
      first_name: m.firstName,
      last_name: m.lastName,
      role: m.role,
      status: m.status,
      job_title: m.jobTitle,
      job_description: m.jobDescription,
      team: m.team,
      phone: m.phone,
      timezone: m.timezone,
      ...(held.has(m.email.toLowerCase()) ? { departureHeld: true } : {}),
    })),
    guests: guests.sort(byEmail).map((g) => ({
      email: g.email,
      first_name: g.firstName,
      last_name: g.lastName,
      status: g.disabled ? "disabled" : "active",
      phone: g.phone,
      timezone: g.timezone,
      ...(held.has(g.email.toLowerCase()) ? { departureHeld: true } : {}),
    })),
    groups: groups
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((g) => ({
        name: g.name,
        description: g.description,
        members: g.members.map((id) => emailOf.get(id) ?? `#${id}`).sort(),
        guests: g.guests.map((e) => e.toLowerCase()).sort(),
      })),
  };
}

export async function writeTallyfyState(
  client: TallyfyClient,
  file: string,
  held?: ReadonlySet<string>,
): Promise<void> {
  writeFileSync(file, `${JSON.stringify(await readTallyfyState(client, held), null, 2)}\n`);
}
