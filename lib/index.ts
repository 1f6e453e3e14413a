/**
 * The package's entry (`import { TallyfyIdpSync } from "tallyfy-idp-sync"`): the construct, its
 * props and their errors, and the stack the repository's own app deploys.
 */
export {
  type EventBridgeSourceProps,
  type FullSyncSettings,
  type NotificationsProps,
  type OktaSourceProps,
  type ScimProps,
  type SourceProps,
  TallyfyIdpSync,
  type TallyfyIdpSyncProps,
  TallyfyIdpSyncPropsError,
} from "./tallyfy-idp-sync.js";
