/**
 * A small JSON Schema (2020-12 subset, as the OpenAPI generator emits it) check for examples: $ref, type
 * (with arrays for nullable), enum, const, properties, required, additionalProperties, items, anyOf/oneOf/allOf,
 * string length and pattern, number bounds, array length. Returns the problems found ([] when valid).
 */
export function checkJsonSchema(schema: unknown, value: unknown, doc: unknown, at: string): string[] {
  const s = schema as Record<string, unknown> | undefined;
  if (!s || typeof s !== "object") return [];
  if (typeof s.$ref === "string") {
    const target = s.$ref
      .slice(2)
      .split("/")
      .reduce<unknown>((node, part) => (node as Record<string, unknown>)?.[part], doc);
    return checkJsonSchema(target, value, doc, at);
  }
  const problems: string[] = [];
  const fail = (message: string) => problems.push(`${at}: ${message} (got ${JSON.stringify(value)?.slice(0, 80)})`);
  const typeOf = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "array" : Number.isInteger(v) ? "integer" : typeof v);
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? s.type : [s.type];
    const actual = typeOf(value);
    if (!types.includes(actual) && !(actual === "integer" && types.includes("number"))) fail(`not ${types.join("|")}`);
  }
  if (Array.isArray(s.enum) && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) fail("not in enum");
  if ("const" in s && JSON.stringify(s.const) !== JSON.stringify(value)) fail("not the const");
  for (const [k, combine] of [
    ["anyOf", "some"],
    ["oneOf", "some"],
    ["allOf", "every"],
  ] as const) {
    const options = s[k] as unknown[] | undefined;
    if (options && !options[combine]((o) => checkJsonSchema(o, value, doc, at).length === 0)) fail(`matches no ${k} branch`);
  }
  if (typeof value === "string") {
    if (typeof s.minLength === "number" && value.length < s.minLength) fail("too short");
    if (typeof s.maxLength === "number" && value.length > s.maxLength) fail("too long");
    if (typeof s.pattern === "string" && !new RegExp(s.pattern, "u").test(value)) fail(`does not match ${s.pattern}`);
  }
  if (typeof value === "number") {
    if (typeof s.minimum === "number" && value < s.minimum) fail("below minimum");
    if (typeof s.maximum === "number" && value > s.maximum) fail("above maximum");
  }
  if (Array.isArray(value)) {
    if (typeof s.minItems === "number" && value.length < s.minItems) fail("too few items");
    if (typeof s.maxItems === "number" && value.length > s.maxItems) fail("too many items");
    if (s.items) value.forEach((item, i) => problems.push(...checkJsonSchema(s.items, item, doc, `${at}[${i}]`)));
  }
  if (typeOf(value) === "object") {
    const object = value as Record<string, unknown>;
    const properties = (s.properties ?? {}) as Record<string, unknown>;
    for (const name of (s.required as string[] | undefined) ?? []) if (!(name in object)) fail(`missing ${name}`);
    for (const [name, v] of Object.entries(object)) {
      if (name in properties) problems.push(...checkJsonSchema(properties[name], v, doc, `${at}.${name}`));
      else if (s.additionalProperties === false) fail(`unexpected property ${name}`);
      else if (typeof s.additionalProperties === "object")
        problems.push(...checkJsonSchema(s.additionalProperties, v, doc, `${at}.${name}`));
    }
  }
  return problems;
}
