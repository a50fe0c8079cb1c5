import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { newSecret, signedCallback } from "./signed-callback.js";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const TSC = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  exports: Record<string, string | { types: string; import: string }>;
  files: string[];
  scripts: Record<string, string>;
};

// Inside the repository and beside dist/ (gitignored .tmp-build-*), so the built files resolve their dependencies from
// node_modules like a consumer's would, and the relay's own files (package.json, migrations/) from where dist/ would.
const outDir = mkdtempSync(join(ROOT, ".tmp-build-"));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

/** Runs an ES module in a plain `node` (no tsx, no loader), as a consumer on Node 20 would. */
async function node(script: string, args: string[]): Promise<unknown> {
  const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script, ...args], { cwd: ROOT, timeout: 15_000 });
  return JSON.parse(stdout);
}

describe("package build (npm run build → dist/)", () => {
  it(
    "compiles the relay, the client and the receiver, and every export resolves to an emitted file",
    { timeout: 90_000 },
    async () => {
      expect(pkg.scripts.build).toBe("tsc -p tsconfig.build.json");
      expect(pkg.scripts.prepare).toBeUndefined();
      expect(pkg.scripts.prepack).toBe("npm run build");
      expect(pkg.files).toContain("dist");
      const args = ["-p", "tsconfig.build.json", "--outDir", outDir, "--tsBuildInfoFile", join(outDir, ".tsbuildinfo")];
      await run(process.execPath, [TSC, ...args], { cwd: ROOT, timeout: 80_000 });
      const targets = Object.entries(pkg.exports).filter(([name]) => name !== "./package.json");
      expect(targets.map(([name]) => name).sort()).toEqual([".", "./client", "./receiver"]);
      for (const [name, target] of targets) {
        expect(typeof target, name).toBe("object");
        for (const file of Object.values(target as Record<string, string>)) {
          expect(file.startsWith("./dist/"), `${name} → ${file}`).toBe(true);
          expect(existsSync(join(outDir, file.slice("./dist/".length))), `${name} → ${file}`).toBe(true);
        }
      }
    },
  );

  it("npm start runs the compiled relay with plain node, built first", { timeout: 30_000 }, async () => {
    expect(pkg.scripts.prestart).toBe("npm run build");
    expect(pkg.scripts.start).toBe("node dist/main.js");
    expect(existsSync(join(outDir, "main.js"))).toBe(true);
    // The compiled CLI loads every server module (config, database, API, scheduler) without tsx.
    const { stdout } = await run(process.execPath, [join(outDir, "cli/main.js"), "--help"], { cwd: ROOT, timeout: 20_000 });
    expect(stdout).toContain("Usage: rendley-relay");
    expect(stdout).toContain("serve");
  });

  it(
    "the rendley-relay command runs dist/ unless src/ changed after the build (or there is no build)",
    { timeout: 30_000 },
    async () => {
      // A stand-in package: the real bin/, a dist/ and a src/ whose CLIs say which one ran.
      const root = join(outDir, "bin-layout");
      const cli = (dir: string, ext: string, said: string) => {
        mkdirSync(join(root, dir, "cli"), { recursive: true });
        const file = join(root, dir, "cli", `main.${ext}`);
        writeFileSync(file, `export async function runCli() { console.log(${JSON.stringify(said)}); return 0; }\n`);
        // The command imports the Node version check first; an old time keeps it out of the staleness comparison.
        const check = join(root, dir, `check-node.${ext}`);
        writeFileSync(check, "export {};\n");
        utimesSync(check, 1, 1);
        return file;
      };
      mkdirSync(join(root, "bin"), { recursive: true });
      for (const file of ["rendley-relay.js", "build-state.js"]) cpSync(join(ROOT, "bin", file), join(root, "bin", file));
      const srcFile = cli("src", "ts", "src");
      const ran = async () =>
        (
          await run(process.execPath, [join(root, "bin/rendley-relay.js"), "--help"], { cwd: root, timeout: 20_000 })
        ).stdout.trim();
      const touch = (file: string, seconds: number) => utimesSync(file, seconds, seconds);

      expect(await ran()).toBe("src"); // never built
      const distFile = cli("dist", "js", "dist");
      touch(srcFile, 1_000_000);
      touch(distFile, 2_000_000);
      expect(await ran()).toBe("dist"); // built after the last edit
      touch(srcFile, 3_000_000);
      expect(await ran()).toBe("src"); // edited since the build: dist/ is stale
      touch(srcFile, 2_000_000);
      expect(await ran()).toBe("dist"); // a package: every file unpacked with the same time
    },
  );

  it("rendley-relay serve installs the driver guards under the name src/main.ts exports them", async () => {
    // `serve` imports the guard by name from main; a renamed export once made the command crash at start.
    const bin = readFileSync(join(ROOT, "bin/rendley-relay.js"), "utf8");
    const name = /const \{ (\w+) \} = await import\(`\$\{from\}\/main\.\$\{ext\}`\)/.exec(bin)?.[1];
    expect(name).toBeDefined();
    const main = (await import("../../../src/main.js")) as Record<string, unknown>;
    expect(typeof main[name!]).toBe("function");
  });

  it(
    "plain node imports verifyCallback from the built receiver and verifies the relay's signature",
    { timeout: 30_000 },
    async () => {
      const secret = newSecret();
      const { body, headers } = signedCallback([newSecret(), secret]);
      const script = `
      const { verifyCallback, CallbackVerificationError } = await import(${JSON.stringify(pathToFileURL(join(outDir, "receiver/index.js")).href)});
      const { createRelayClient, RelayError } = await import(${JSON.stringify(pathToFileURL(join(outDir, "client/index.js")).href)});
      const [body, headers, secret] = process.argv.slice(1).map((a) => JSON.parse(a));
      const event = verifyCallback(body, headers, secret);
      let refused;
      try { verifyCallback(body.replace("ord_42", "ord_7"), headers, secret); } catch (err) {
        refused = { code: err.code, status: err.status, typed: err instanceof CallbackVerificationError };
      }
      console.log(JSON.stringify({ event, refused, client: typeof createRelayClient, relayError: typeof RelayError }));
    `;
      const out = await node(script, [JSON.stringify(body), JSON.stringify(headers), JSON.stringify(secret)]);
      expect(out).toEqual({
        event: JSON.parse(body),
        refused: { code: "bad_signature", status: 401, typed: true },
        client: "function",
        relayError: "function",
      });
    },
  );
});
