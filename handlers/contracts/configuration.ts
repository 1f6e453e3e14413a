/**
 * Where the stack puts the sync configuration for its functions: a file in each bundle, beside the
 * handler. Lambda allows 4 KB of environment variables in all, which a few dozen group mappings
 * pass; a file in the bundle has no such limit and costs no call at cold start.
 */
export const SYNC_CONFIG_FILE = "sync-config.json";
