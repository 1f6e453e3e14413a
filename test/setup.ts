import "aws-sdk-client-mock-vitest/extend";

// The pinned SDK warns once per process on Node 20; the warning is about future releases, not these.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
// The handlers' JSON logs and EMF metrics would drown the test report; tests read tallies instead.
process.env.POWERTOOLS_LOG_LEVEL ??= "SILENT";
process.env.POWERTOOLS_METRICS_DISABLED = "true";
