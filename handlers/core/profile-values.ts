/**
 * A source's profile values checked as the canonical event checks them. A value the event would
 * refuse (masked, too long, not a time zone) is left out with a warning rather than failing the
 * whole user: the rest of the profile, the role and the groups still apply, and Tallyfy keeps
 * its old value.
 */
import { PROFILE_FIELDS } from "./desired-state.js";
import { EventUserSchema } from "./identity-event.js";

export type ProfileField = (typeof PROFILE_FIELDS)[number];

export function checkedProfile(
  /** The source's value for the field, if it has a non-empty one. */
  valueFor: (field: ProfileField) => string | undefined,
  /** Names the field's source and the user in a warning, e.g. `title of Okta user 00u1`. */
  describe: (field: ProfileField) => string,
): { profile: Partial<Record<ProfileField, string>>; warnings: string[] } {
  const profile: Partial<Record<ProfileField, string>> = {};
  const warnings: string[] = [];
  for (const field of PROFILE_FIELDS) {
    const value = valueFor(field);
    if (value === undefined || value.trim() === "") continue;
    const checked = EventUserSchema.shape[field].safeParse(value);
    if (checked.success && checked.data !== undefined) profile[field] = checked.data;
    else warnings.push(`${describe(field)} left out: ${checked.error?.issues[0]?.message}`);
  }
  return { profile, warnings };
}
