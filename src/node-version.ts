/**
 * The Node.js versions the relay runs on. undici 8 (the relay's HTTP client) needs 22.19; Node 20 reached end of
 * life in April 2026. `.ci/run` runs the suite on the oldest and the newest supported lines, the image runs 24.
 * `package.json`'s `engines` says the same (a test keeps them equal).
 */
export const MIN_NODE_VERSION = "22.19.0";
export const TESTED_NODE_LINES = [22, 24, 26] as const;

function parse(version: string): [number, number, number] | undefined {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version);
  return match ? [Number(match[1]), Number(match[2]), Number(match[3])] : undefined;
}

/**
 * Why this Node.js cannot run the relay, as one line, or undefined when it can.
 * @param version as in `process.version` (`v22.19.0`); a version that does not read as one passes
 */
export function unsupportedNodeMessage(version: string): string | undefined {
  const running = parse(version);
  const [major, minor, patch] = parse(MIN_NODE_VERSION)!;
  if (!running) return undefined;
  const [m, n, p] = running;
  if (m > major || (m === major && (n > minor || (n === minor && p >= patch)))) return undefined;
  return (
    `rendley-relay needs Node.js ${MIN_NODE_VERSION} or newer (tested on ${TESTED_NODE_LINES.join(", ")}); ` +
    `this is Node.js ${version}. Install a supported Node.js and start it again.`
  );
}
