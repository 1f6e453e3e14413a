/**
 * What a SCIM User means in Tallyfy: the email, the profile fields (idp-events.md section 3.4), the
 * kind (guest or member) and an explicit role. A value Tallyfy would refuse, or one that looks
 * masked, is left out with a warning rather than failing the whole user.
 */
import { type EventUser, EventUserSchema } from "../../core/identity-event.js";
import { ROLES } from "../../core/roles.js";
import { invalidValue } from "./errors.js";
import { ENTERPRISE_SCHEMA, TALLYFY_SCHEMA, type UserResource } from "./resources.js";

type MultiValue = NonNullable<UserResource["emails"]>;

/** The user's profile as canonical fields, and the values left out on the way. */
export function personOf(user: UserResource): { readonly user: EventUser; readonly warnings: string[] } {
  const warnings: string[] = [];
  const email = emailOf(user);
  // Entra's B2B guests, by UPN or by userType. Another userType withdraws that (`false`); as SCIM
  // is a confined source, the directory keeps the `false` only inside `memberDomains`, so a
  // userType never makes an outside address a member (core/desired-state.ts).
  const guest =
    /#EXT#/i.test(user.userName) || user.userType?.trim().toLowerCase() === "guest"
      ? true
      : user.userType?.trim()
        ? false
        : undefined;
  const role = roleOf(user.roles);
  const candidates: Record<string, string | undefined> = {
    firstName: user.name?.givenName,
    lastName: user.name?.familyName,
    phone: preferred(user.phoneNumbers, ["work", "mobile"])?.value,
    jobTitle: user.title,
    team: user[ENTERPRISE_SCHEMA]?.department,
    timezone: user.timezone,
    jobDescription: user[TALLYFY_SCHEMA]?.jobDescription,
  };
  const fields: Record<string, string> = {};
  const shape = EventUserSchema.shape as Record<
    string,
    { safeParse(v: unknown): { success: boolean; data?: unknown; error?: { issues: { message: string }[] } } }
  >;
  for (const [field, value] of Object.entries(candidates)) {
    // Okta sends "" for a cleared attribute: nothing to set.
    if (value === undefined || value.trim() === "") continue;
    const parsed = shape[field]?.safeParse(value);
    if (parsed?.success) fields[field] = parsed.data as string;
    else warnings.push(`${field} left out: ${parsed?.error?.issues[0]?.message ?? "invalid"}`);
  }
  return {
    user: { email, ...fields, ...(guest !== undefined ? { guest } : {}), ...(role ? { role } : {}) },
    warnings,
  };
}

/**
 * The person's email: the primary email, else the work one, else the first, else the userName when
 * it is an email. An Entra guest's userName (`…#EXT#@tenant.onmicrosoft.com`) never is.
 */
export function emailOf(user: UserResource): string {
  const listed = preferred(user.emails, ["work"])?.value;
  const candidate = listed ?? (/#EXT#/i.test(user.userName) ? undefined : user.userName);
  const parsed = EventUserSchema.shape.email.safeParse(candidate ?? "");
  if (!parsed.success) {
    throw invalidValue(
      candidate === undefined
        ? `user ${user.userName} has no email address: map one to emails (a guest's UPN is not an email)`
        : `user ${user.userName}: ${JSON.stringify(candidate)} is not an email address`,
    );
  }
  return parsed.data.toLowerCase();
}

function preferred(values: MultiValue | undefined, types: readonly string[]) {
  const usable = (values ?? []).filter((v) => typeof v.value === "string" && v.value.trim() !== "");
  return (
    usable.find((v) => v.primary === true) ??
    types.map((t) => usable.find((v) => v.type?.toLowerCase() === t)).find(Boolean) ??
    usable[0]
  );
}

/** An app role whose value names a Tallyfy role (Entra's app-role assignment), primary first. */
function roleOf(roles: MultiValue | undefined) {
  const named = (roles ?? []).filter((r) => ROLES.some((role) => role === r.value?.trim().toLowerCase()));
  const chosen = named.find((r) => r.primary === true) ?? named[0];
  return chosen && ROLES.find((role) => role === chosen.value?.trim().toLowerCase());
}
