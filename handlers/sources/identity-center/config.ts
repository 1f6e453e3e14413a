/** The `identity-center` key of the sync configuration (README "AWS IAM Identity Center"). */
import * as z from "zod";

export const IdentityCenterConfigSchema = z.strictObject({
  /**
   * The one identity store synced, `d-xxxxxxxxxx`: events about any other are ignored, and the
   * ingest function may read only this one. Required when the source is deployed.
   */
  identityStoreId: z
    .string()
    .trim()
    .regex(
      /^(d-[0-9a-f]{10}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/,
      "must be an identity store id such as d-9067a1b2c3",
    )
    .optional(),
  /** Identity Store `UserType` values that make a user a Tallyfy guest whatever the email domain. */
  guestUserTypes: z.array(z.string().trim().min(1)).default([]),
});
export type IdentityCenterConfig = z.output<typeof IdentityCenterConfigSchema>;
