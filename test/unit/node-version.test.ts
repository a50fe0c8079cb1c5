import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { MIN_NODE_VERSION, TESTED_NODE_LINES, unsupportedNodeMessage } from "../../src/node-version.js";

describe("unsupportedNodeMessage", () => {
  it.each(["v22.19.0", "v22.23.5", "v23.0.0", "v24.0.0", "v24.22.1", "v26.12.1", "v26.0.0-pre", "v30.1.2", "22.19.0"])(
    "%s runs the relay",
    (version) => {
      expect(unsupportedNodeMessage(version)).toBeUndefined();
    },
  );

  it.each(["v22.18.9", "v22.0.0", "v21.7.3", "v20.20.2", "v20.19.0", "v18.20.8", "v0.10.48"])("%s is refused", (version) => {
    const message = unsupportedNodeMessage(version);
    expect(message).toBe(
      `rendley-relay needs Node.js 22.19.0 or newer (tested on 22, 24, 26); this is Node.js ${version}. ` +
        "Install a supported Node.js and start it again.",
    );
    expect(message).not.toContain("\n");
  });

  it("lets a version it cannot read pass (process.version always reads)", () => {
    expect(unsupportedNodeMessage("")).toBeUndefined();
    expect(unsupportedNodeMessage("nightly")).toBeUndefined();
  });

  it("this Node runs the relay", () => {
    expect(unsupportedNodeMessage(process.version)).toBeUndefined();
  });

  it("package.json's engines and the README say the same", () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      engines: { node: string };
    };
    expect(pkg.engines.node).toBe(`>=${MIN_NODE_VERSION}`);
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const stated = `Node.js ${MIN_NODE_VERSION.replace(/\.0$/, "")} or later`;
    expect(readme.includes(stated), `the README says "${stated}"`).toBe(true);
    expect(TESTED_NODE_LINES).toEqual([22, 24, 26]);
  });
});
