import type { z } from "zod";

/** One environment variable of the relay: the `Config` property it fills, its default, its parser and what it means. */
export type ConfigVariable = {
  /** The `Config` property the parsed value fills. */
  readonly property: string;
  /** Parses the trimmed value (undefined when unset without a default); its messages follow the variable's name. */
  readonly schema: z.ZodType<unknown, string | undefined>;
  /** One line: what the variable means, as README.md's configuration table says. */
  readonly doc: string;
  /** The raw value used when the variable is unset or blank. */
  readonly default?: string;
  /** README.md's default cell when it is not `default` in backticks: "unset", "**required** …", "generated …", "empty". */
  readonly defaultText?: string;
} & ({ readonly default: string } | { readonly defaultText: string });
