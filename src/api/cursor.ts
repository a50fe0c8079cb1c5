import type { WatchCursor } from "../db/queries/list-watches.js";
import { ValidationError } from "../errors.js";
import { isStorableDate, isStorableText } from "./storable-text.js";

/** Opaque page cursor: base64url of `[created_at, id]`. Clients pass back what they got. */
export function encodeCursor(cursor: WatchCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt.toISOString(), cursor.id])).toString("base64url");
}

export function decodeCursor(raw: string): WatchCursor {
  const invalid = () =>
    new ValidationError(
      "cursor: not a cursor this API returned",
      [{ path: "cursor", message: "invalid cursor" }],
      "invalid_cursor",
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw, "base64url").toString("utf8"));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(parsed) || parsed.length !== 2 || typeof parsed[0] !== "string" || typeof parsed[1] !== "string")
    throw invalid();
  const createdAt = new Date(parsed[0]);
  if (!isStorableDate(createdAt) || parsed[1].length > 64 || !isStorableText(parsed[1])) throw invalid();
  return { createdAt, id: parsed[1] };
}
