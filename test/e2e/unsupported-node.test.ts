import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/**
 * Runs an entry point on this Node made to report `version` as its `process.version` (the property is
 * configurable: a `--import`ed module redefines it before the entry point loads), with no environment for the relay.
 */
function runAs(version: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const fake = `data:text/javascript,Object.defineProperty(process,"version",{value:${JSON.stringify(version)}})`;
  const child = spawn(process.execPath, [`--import=${fake}`, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

const LINE =
  /^rendley-relay needs Node\.js 22\.19\.0 or newer \(tested on 22, 24, 26\); this is Node\.js v20\.20\.2\. Install a supported Node\.js and start it again\.\n$/;

describe("an unsupported Node", () => {
  it.each<[string, string[]]>([
    ["npm start's code (src/main.ts)", ["--import", "tsx", "src/main.ts"]],
    ["the rendley-relay command", ["bin/rendley-relay.js", "serve"]],
  ])("%s says so in one line on stderr and exits 1, before reading any configuration", async (_label, args) => {
    const { code, stdout, stderr } = await runAs("v20.20.2", args);
    expect(stderr).toMatch(LINE);
    expect(stdout).toBe("");
    expect(code).toBe(1);
  });

  it("a supported one gets past the check (to the configuration, which is missing here)", async () => {
    const { code, stderr } = await runAs("v22.19.0", ["--import", "tsx", "src/main.ts"]);
    expect(stderr).not.toContain("needs Node.js");
    expect(stderr).toContain("RENDLEY_API_KEY");
    expect(code).not.toBe(0);
  });
});
