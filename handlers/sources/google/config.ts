/** The `google` key of the sync configuration: how Google Workspace users are read (README "Google Workspace"). */
import * as z from "zod";
import { ROLES } from "../../core/roles.js";

// A custom schema field, `<schema name>.<field name>`.
const customField = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9_]+\.[A-Za-z0-9_]+$/, "must be <schema>.<field>, e.g. Tallyfy.timezone");

export const GoogleConfigSchema = z.strictObject({
  /** The account watched and listed: `my_customer` (the service account's own) or a customer id. */
  customer: z.string().trim().min(1).default("my_customer"),
  /**
   * The Google groups in scope, by email or id: only their direct members are synced, and a member
   * who leaves all of them leaves Tallyfy. Empty: every user of the account.
   */
  groups: z.array(z.string().trim().min(1)).default([]),
  /** Google has no time zone on users: a custom schema field that holds an IANA zone. */
  timezoneField: customField.optional(),
  /** A custom schema field for Tallyfy's job description. @default the primary organization's description */
  jobDescriptionField: customField.optional(),
  /**
   * The Tallyfy role of a Google super administrator (`isAdmin`). Off by default: a Google admin
   * is not made a Tallyfy admin unless you say so.
   */
  adminRole: z.enum(ROLES).optional(),
});
export type GoogleConfig = z.output<typeof GoogleConfigSchema>;
