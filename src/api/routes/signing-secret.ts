import { createRoute, z } from "@hono/zod-openapi";
import { emptyJsonMeansDefaults } from "../empty-json.js";
import { createRouter } from "../router.js";
import { rotateSigningSecret } from "../../db/queries/rotate-signing-secret.js";
import { currentSigningSecret, type SigningSecretState } from "../../db/queries/signing-secrets.js";
import type { Deps } from "../../deps.js";
import { NotFoundError } from "../../errors.js";
import { errorForLog } from "../../lib/error-for-log.js";
import { ErrorSchema } from "../schemas.js";

export const DEFAULT_GRACE_PERIOD_S = 86_400;
export const MAX_GRACE_PERIOD_S = 604_800;

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
});
const security = [{ bearerAuth: [] }];

const SigningSecretEnvelope = z.object({
  data: z
    .object({
      secret: z.string().openapi({
        description: "The current secret: callbacks are signed with it (Standard Webhooks, `whsec_` + base64).",
        example: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwYhXmEKjxbTg=",
      }),
      previous_expires_at: z
        .string()
        .nullable()
        .openapi({
          description:
            "When the last previous secret stops signing: until then callbacks carry one signature per valid secret, " +
            "newest first. null when no previous secret still signs.",
          example: "2026-11-28T05:07:04.577Z",
        }),
    })
    .openapi("SigningSecret"),
});

const RotateSigningSecretSchema = z
  .strictObject({
    grace_period_s: z
      .number()
      .int()
      .min(0)
      .max(MAX_GRACE_PERIOD_S)
      .optional()
      .openapi({
        description:
          "How long the secrets valid so far keep signing alongside the new one, in seconds (0: they stop at once). " +
          "A previous secret that would stop earlier keeps its earlier time.",
        default: DEFAULT_GRACE_PERIOD_S,
        example: 3600,
      }),
  })
  .openapi("RotateSigningSecret");

const getRoute = createRoute({
  method: "get",
  path: "/v1/signing-secret",
  tags: ["signing"],
  summary: "The secret callbacks are signed with (Standard Webhooks, `whsec_…`)",
  security,
  responses: {
    200: json(SigningSecretEnvelope, "The current signing secret"),
    401: json(ErrorSchema, "Missing or invalid API key (unauthorized)"),
  },
});

const rotateRoute = createRoute({
  method: "post",
  path: "/v1/signing-secret/rotate",
  tags: ["signing"],
  summary: "Start signing with a new secret; the previous ones keep signing for a grace period",
  description:
    "During the grace period every callback carries one `v1,` signature per valid secret in `webhook-signature`, " +
    "newest first, so receivers can switch to the new secret at their own pace. The body is optional.",
  security,
  middleware: emptyJsonMeansDefaults,
  request: { body: { content: { "application/json": { schema: RotateSigningSecretSchema } }, required: false } },
  responses: {
    201: json(SigningSecretEnvelope, "The new current secret"),
    400: json(ErrorSchema, "Invalid body (validation_failed, invalid_json)"),
    401: json(ErrorSchema, "Missing or invalid API key (unauthorized)"),
    413: json(ErrorSchema, "Body over 64 KiB (payload_too_large)"),
    415: json(ErrorSchema, "A body that is not JSON (unsupported_media_type)"),
  },
});

function view(state: SigningSecretState) {
  return { secret: state.secret, previous_expires_at: state.previousExpiresAt?.toISOString() ?? null };
}

/**
 * The signing secret resource.
 * @param hooks.onSigningSecretRotated called once a rotation has committed (the delivery worker drops its cached secrets)
 */
export function signingSecretRoutes(
  deps: Pick<Deps, "db" | "clock" | "random" | "logger">,
  hooks: { onSigningSecretRotated: (tenantId: string) => void },
) {
  const { db, clock, random } = deps;
  const logger = deps.logger.child({ component: "api" });
  const app = createRouter();

  app.openapi(getRoute, async (c) => {
    const state = await currentSigningSecret(db, c.get("tenantId"), clock.now());
    if (!state) throw new NotFoundError("signing secret");
    return c.json({ data: view(state) }, 200);
  });

  app.openapi(rotateRoute, async (c) => {
    // Without a JSON body zod-openapi hands over `{}` unvalidated: defaults are applied here, not by the schema.
    const body = c.req.valid("json");
    const tenantId = c.get("tenantId");
    const graceS = body.grace_period_s ?? DEFAULT_GRACE_PERIOD_S;
    const rotated = await rotateSigningSecret(db, { tenantId, graceMs: graceS * 1000, now: clock.now(), random });
    if (rotated.kind === "not_found") throw new NotFoundError("tenant");
    try {
      hooks.onSigningSecretRotated(tenantId);
    } catch (err) {
      // The rotation is committed; a stale cache only delays the switch by its TTL.
      logger.warn({ err: errorForLog(err) }, "signing secret rotated, but notifying the delivery worker failed");
    }
    logger.info({ tenantId, gracePeriodS: graceS }, "signing secret rotated");
    return c.json({ data: view(rotated.state) }, 201);
  });
  return app;
}
