/**
 * The fake Rendley used by the tests: the job API (api.rendley.com) and the agent service (mcp.rendley.com),
 * each on its own 127.0.0.1 port. The implementation lives in ./fake-rendley/.
 */
export * from "./fake-rendley/index.js";
