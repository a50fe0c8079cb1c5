/** Constants shared by the API fuzz test (test/e2e/fuzz.test.ts) and its generators and checks. */

/** The admin key the fuzzed relay runs with (RELAY_ADMIN_KEY). */
export const ADMIN_KEY = "admin-key-0123456789abcdefXYZ";
/** The relay's body limit: bodies over it are refused with 413. */
export const MAX_BODY_BYTES = 64 * 1024;
/** The origin of in-process requests. */
export const BASE = "http://relay.test";
