/**
 * `npm pack` makes a package a separate CDK app installs from its tarball and the npm registry
 * alone: `import { TallyfyIdpSync } from "tallyfy-idp-sync"` typechecks, synthesizes with every
 * source on and cdk-nag clean, from handlers bundled when the package was packed (the app has
 * neither esbuild nor this project's sources), and the operators' command runs from it. The
 * tarball ships nothing of the repository's tests, fakes or sources, and no path of this machine.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "..", "..");
const lock = JSON.parse(fs.readFileSync(path.join(root, "package-lock.json"), "utf8"));
/** The versions this repository is tested with, so the install is served from npm's cache when it can be. */
const pinned = (name: string): string => lock.packages[`node_modules/${name}`].version;

const APP = `
import { App, Duration, Stack } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { TallyfyIdpSync, type TallyfyIdpSyncProps } from "tallyfy-idp-sync";

const props: TallyfyIdpSyncProps = {
  tallyfyOrganizationId: "org-123",
  syncConfig: {
    memberDomains: ["example.com"],
    roles: { admin: ["Admins"] },
    groups: { Engineering: "Engineering" },
    entra: { tenantId: "84bd8158-6d4d-4958-8b9f-9d6445542f95", groups: ["Tallyfy Users"] },
    google: { timezoneField: "Tallyfy.timezone" },
    "identity-center": { identityStoreId: "d-9067a1b2c3" },
  },
  alarmEmail: "ops@example.com",
  notifications: { slack: { workspaceId: "T07EA123LEP", channelId: "C07EZ1ABC23" } },
  maxMessageAge: Duration.minutes(20),
  eventBridge: { eventPattern: { source: ["hr.example"] } },
  okta: { eventHook: true, logStreamEventBusName: "aws.partner/okta.com/acme/log-stream" },
  sources: {
    entra: { endpoint: true },
    google: { endpoint: true },
    auth0: { eventBusNames: { LogStream: "aws.partner/auth0.com/acme/auth0.logs" } },
    "identity-center": { eventBusNames: { CloudTrail: "default" } },
  },
  scim: { enabled: true },
  fullSync: { enabled: true },
};

const app = new App({ outdir: process.argv[2] ?? "cdk.out" });
const stack = new Stack(app, "Consumer", { env: { account: "111111111111", region: "eu-west-1" } });
new TallyfyIdpSync(stack, "Sync", props);
const report = new AwsSolutionsChecks().validateScope(stack);
app.synth();
console.log(JSON.stringify({ violations: report.violations.map((v) => v.ruleName) }));
`;

let scratch: string;
let tarball: { filename: string; size: number; unpackedSize: number; files: { path: string }[] };

function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}): string {
  return execFileSync(command, args, {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      npm_config_update_notifier: "false",
      npm_config_fund: "false",
      npm_config_audit: "false",
      ...env,
    },
    maxBuffer: 64 * 1024 * 1024,
  });
}

beforeAll(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), "tallyfy-idp-sync-consumer-"));
  // `npm pack` runs the build (prepack); its log goes to stdout before the JSON.
  const packed = run("npm", ["pack", "--json", "--pack-destination", scratch], root);
  [tarball] = JSON.parse(packed.slice(packed.indexOf("[\n")));
  fs.writeFileSync(
    path.join(scratch, "package.json"),
    JSON.stringify({
      name: "consumer",
      private: true,
      type: "module",
      dependencies: {
        "tallyfy-idp-sync": `file:./${tarball.filename}`,
        "aws-cdk-lib": pinned("aws-cdk-lib"),
        constructs: pinned("constructs"),
        "cdk-nag": pinned("cdk-nag"),
      },
      devDependencies: { typescript: pinned("typescript"), "@types/node": pinned("@types/node") },
    }),
  );
  fs.writeFileSync(
    path.join(scratch, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        strict: true,
        outDir: "out",
        types: ["node"],
      },
      files: ["app.ts"],
    }),
  );
  fs.writeFileSync(path.join(scratch, "app.ts"), APP);
  run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], scratch);
  // The app is typechecked against the package's declarations as it is compiled.
  run("npx", ["tsc", "-p", "."], scratch);
}, 600_000);

afterAll(() => {
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

describe("the package, installed into a separate CDK app", () => {
  it("holds no test, fixture, local fake, source or path of this machine", () => {
    // Prepare
    const unpacked = path.join(scratch, "unpacked");
    fs.mkdirSync(unpacked);
    run("tar", ["-xzf", path.join(scratch, tarball.filename), "-C", unpacked], scratch);
    const files = tarball.files.map((f) => f.path);

    // Act
    const shipped = (file: string) => fs.readFileSync(path.join(unpacked, "package", file), "utf8");
    const sources = files.filter((file) => /^(test|local|bench|handlers|cli|lib|package)\//.test(file));
    const typescript = files.filter((file) => file.endsWith(".ts") && !file.endsWith(".d.ts"));
    const fixtures = files.filter((file) => /fixture|fake/i.test(file));
    const machinePaths = files.filter((file) => {
      const text = shipped(file);
      return [root, os.homedir(), os.tmpdir()].some((p) => p.length > 1 && text.includes(`${p}/`));
    });
    const outsideMaps = files
      .filter((file) => file.endsWith(".map"))
      .flatMap((file) =>
        (JSON.parse(shipped(file)).sources as string[]).filter(
          (source) => path.resolve("/package", path.dirname(file), source).startsWith("/package/") === false,
        ),
      );
    console.info(
      `tarball ${tarball.filename}: ${(tarball.size / 1e6).toFixed(1)} MB packed, ${(tarball.unpackedSize / 1e6).toFixed(1)} MB unpacked, ${files.length} files`,
    );

    // Assess
    expect(files).toEqual(
      expect.arrayContaining(["dist/index.js", "dist/types/lib/index.d.ts", "dist/cli.js"]),
    );
    expect(sources).toEqual([]);
    expect(typescript).toEqual([]);
    expect(fixtures).toEqual([]);
    expect(machinePaths).toEqual([]);
    expect(outsideMaps).toEqual([]);
  });

  it("typechecks and synthesizes with every source on, the six handlers bundled at pack time, cdk-nag clean", () => {
    // Act
    const printed = run("node", ["out/app.js"], scratch);

    // Assess
    expect(JSON.parse(printed.trim().split("\n").at(-1) ?? "{}")).toEqual({ violations: [] });
    const template = JSON.parse(
      fs.readFileSync(path.join(scratch, "cdk.out", "Consumer.template.json"), "utf8"),
    );
    const types = Object.values(template.Resources as Record<string, { Type: string }>).map((r) => r.Type);
    expect(types.filter((t) => t === "AWS::Lambda::Function")).toHaveLength(8);
    expect(types.filter((t) => t === "AWS::DynamoDB::Table")).toHaveLength(1);
    expect(types).toContain("AWS::Chatbot::SlackChannelConfiguration");
    const digest = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex");
    const staged = fs
      .readdirSync(path.join(scratch, "cdk.out"))
      .filter(
        (dir) => dir.startsWith("asset.") && fs.existsSync(path.join(scratch, "cdk.out", dir, "index.mjs")),
      )
      .map((dir) => digest(path.join(scratch, "cdk.out", dir, "index.mjs")));
    const packaged = path.join(scratch, "node_modules", "tallyfy-idp-sync", "dist", "assets");
    const handlers = fs.readdirSync(packaged);
    expect(handlers.sort()).toEqual(["apply", "full-sync", "ingest", "scim", "upkeep", "webhook"]);
    expect(handlers.filter((h) => !staged.includes(digest(path.join(packaged, h, "index.mjs"))))).toEqual([]);
    expect(fs.existsSync(path.join(scratch, "node_modules", "esbuild"))).toBe(false);
  });

  it("deploys the packaged bundle and its configuration, and nothing else left in the temporary folder", () => {
    // Prepare: a first synth stages the bundles; a file is then left in every staging folder (by
    // another tool, or another user of a shared build machine). Lambda's Node runtime would run an
    // index.js before the index.mjs.
    const tmp = path.join(scratch, "tmp");
    fs.mkdirSync(tmp);
    run("node", ["out/app.js", "first.out"], scratch, { TMPDIR: tmp });
    const staging = fs.readdirSync(tmp).filter((name) => name.startsWith("tallyfy-idp-sync-"));
    for (const folder of staging)
      fs.writeFileSync(path.join(tmp, folder, "index.js"), "export const handler = 1;\n");

    // Act
    run("node", ["out/app.js", "second.out"], scratch, { TMPDIR: tmp });

    // Assess
    const outdir = path.join(scratch, "second.out");
    const template = JSON.parse(fs.readFileSync(path.join(outdir, "Consumer.template.json"), "utf8"));
    const functions = Object.values(
      template.Resources as Record<string, { Type: string; Properties: { Code: { S3Key: string } } }>,
    ).filter((r) => r.Type === "AWS::Lambda::Function");
    const deployed = functions.map((f) =>
      fs.readdirSync(path.join(outdir, `asset.${f.Properties.Code.S3Key.replace(/\.zip$/, "")}`)).sort(),
    );
    expect(staging.length).toBeGreaterThan(0);
    expect(functions).toHaveLength(8);
    expect(
      deployed.filter((files) =>
        files.some((f) => !["index.mjs", "index.mjs.map", "sync-config.json"].includes(f)),
      ),
    ).toEqual([]);
  });

  it("runs the operators' command from the installed package", () => {
    // Act
    const help = run("npx", ["--no-install", "tallyfy-idp-sync", "--help"], scratch);

    // Assess
    expect(help).toMatch(/^Usage: tallyfy-idp-sync <plan\|dlq\|holds>/);
  });
});
