import { PageError } from "./page-error.js";

/** Rows of a list page unless `?limit=` says otherwise. */
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

/** `?limit=` of a list page: undefined when absent; a whole number from 1 to MAX_PAGE_SIZE, or a 400 page. */
export function pageLimit(raw: string | undefined): number | undefined {
  if (raw === undefined || raw === "") return undefined;
  const limit = Number(raw);
  if (!(Number.isInteger(limit) && limit >= 1 && limit <= MAX_PAGE_SIZE))
    throw new PageError("invalid_filter", 400, `limit: a whole number from 1 to ${MAX_PAGE_SIZE}.`);
  return limit;
}
