/** A command line that cannot be acted on (a missing key, a bad value): exit code 2, like commander's own errors. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}
