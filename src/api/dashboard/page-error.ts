/** Why a dashboard request was refused; rendered as an HTML page with the status (never as the API's JSON envelope). */
export type PageErrorCode = "session_expired" | "csrf_failed" | "not_found" | "invalid_filter";

export class PageError extends Error {
  override readonly name = "PageError";
  constructor(
    readonly code: PageErrorCode,
    readonly status: 400 | 401 | 403 | 404,
    message: string,
  ) {
    super(message);
  }
}
