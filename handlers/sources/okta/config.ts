/** The `okta` key of the sync configuration: how Okta events are read (README "Okta"). */
import * as z from "zod";

/** Okta profile attribute names for one Tallyfy field, tried in order; the first non-empty value wins. */
const attribute = (...names: string[]) =>
  z
    .union([z.string().trim().min(1), z.array(z.string().trim().min(1))])
    .transform((value) => (typeof value === "string" ? [value] : value))
    .default(names);

export const OktaConfigSchema = z.strictObject({
  /** The Tallyfy app's id in Okta (`0oa...`). Set: only users assigned to it are synced, and unassigning deactivates. */
  appId: z.string().trim().min(1).optional(),
  /** Okta `userType` values that make a user a Tallyfy guest whatever the email domain. */
  guestUserTypes: z.array(z.string().trim().min(1)).default([]),
  /** Okta profile attribute(s) for each Tallyfy field. */
  attributes: z
    .strictObject({
      email: attribute("email"),
      firstName: attribute("firstName"),
      lastName: attribute("lastName"),
      phone: attribute("primaryPhone", "mobilePhone"),
      jobTitle: attribute("title"),
      /** Usually a custom attribute; none by default. */
      jobDescription: attribute(),
      team: attribute("department"),
      timezone: attribute("timezone"),
    })
    .prefault({}),
});
export type OktaConfig = z.output<typeof OktaConfigSchema>;
