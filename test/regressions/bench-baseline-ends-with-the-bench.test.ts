/**
 * When `npm run bench` fails while the naive baseline runs beside ours, the baseline's child process
 * ends with the bench instead of running on, orphaned.
 *
 * The driver below does what bench/run.ts does: start the baseline beside, swallow its rejection
 * until later, and (standing in for our replay failing, e.g. a drain timeout) exit with 1.
 
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "..", "..");
const naiveBeside = pathToFileURL(path.join(root, "bench", "naive-beside.ts")).href;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return "";
  }
}

function childrenOf(parent: number): number[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => parentOf(pid) === parent);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return commandOf(pid).includes("naive-beside.ts");
  } catch {
    return false;
  }
}

const started: number[] = [];
let folder: string | undefined;

afterEach(() => {
  // Only the processes this test started, by their id.
  for (const pid of started.splice(0)) if (alive(pid)) process.kill(pid, "SIGKILL");
  if (folder) rmSync(folder, { recursive: true, force: true });
});

describe("attack 12: the naive baseline's child process", () => {
  it("does not outlive a bench that fails while it runs", async () => {
    // Prepare: a bench that starts the baseline beside ours, then fails (as main() does: exit 1)
    folder = mkdtempSync(path.join(tmpdir(), "bench-orphan-"));
    const driver = path.join(folder, "driver.mjs");
    writeFileSync(
      driver,
      `import { replayNaiveBeside } from ${JSON.stringify(naiveBeside)};
const done = replayNaiveBeside(723924645, { latencyMs: 30, ratePerMinute: 600, scale: 50, applyConcurrency: 2 });
done.catch(() => {});
setTimeout(() => process.exit(1), 6000); // our replay failed: main() rejects, process.exit(1)
`,
    );
    const bench = spawn(process.execPath, ["--import", "tsx", driver], { cwd: root, stdio: "ignore" });
    const exited = new Promise<number | null>((resolve) => bench.on("exit", resolve));

    // Act: find the baseline's process while the bench lives, then let the bench fail
    let naive: number | undefined;
    for (let i = 0; i < 100 && naive === undefined; i++) {
      await sleep(50);
      naive = childrenOf(bench.pid ?? -1).find((pid) => commandOf(pid).includes("naive-beside.ts"));
    }
    if (naive !== undefined) started.push(naive);
    const code = await exited;
    await sleep(2_000);

    // Assess
    expect(naive, "the baseline's child process was started").toBeDefined();
    expect(code).toBe(1);
    expect(
      naive !== undefined && alive(naive)
        ? `pid ${naive} still running after the bench exited: ${commandOf(naive)} (parent now ${parentOf(naive)})`
        : "stopped",
    ).toBe("stopped");
  }, 60_000);
});
