/**
 * POST /.well-known/mercure: a Mercure publish (drafts 07 and 08), form-encoded, appended to the log as one
 * event and acknowledged as a native publish is, once committed: `200 text/plain` with the update's id.
 */
import { Elysia, t } from "elysia";
import type { Authorizer, Credential } from "../../auth/authorizer";
import { HeraldError } from "../../errors";
import { mercureId } from "../../event-json";
import type { Hub } from "../../hub/hub";
import type { EventDraft } from "../../log/event-log";
import type { Metrics } from "../../metrics";
import { type BodyLimits, readText } from "../body";
import { crossSiteRefusal } from "../cross-site";
import { idempotency } from "../idempotency";
import { ErrorResponse, IdempotencyHeaders } from "../models";
import type { OriginPolicy } from "../origins";
import { challenged } from "./challenge";
import { mercureToken, tokenInUrl } from "./credentials";
import { parseForm } from "./form";
import { forbiddenResponse, UNAUTHORIZED_RESPONSE } from "./models";
import { HUB_PATH, MAX_FIELDS, updateDraft } from "./update";

export interface MercureOptions {
  /** The cookie a token may come in, beside `__Secure-mercure_access_token`. */
  readonly cookie: string;
  /** The URL of the hub's protected resource metadata, named in every challenge; none without a resource identifier. */
  readonly resourceMetadata?: string;
  /** What relative URL patterns and topics resolve against (patterns/url-pattern.ts, patternBase). */
  readonly patternBase: string;
}

const FORM = "application/x-www-form-urlencoded";
const TEXT = { "Content-Type": "text/plain; charset=utf-8" };
const PRIVATE_TEXT = { ...TEXT, "Cache-Control": "private" };
/** Idempotency-Keys of Mercure publishes share one scope, which no native topic can be (no `@` in topic names). */
const SCOPE = "@mercure";

/**
 * Why a publish authenticated by a cookie is refused as cross-site, or null. Unlike the native API, the drafts
 * refuse one that shows neither Origin nor Referer: without them nothing says the request is not forged.
 */
function cookieRefusal(request: Request, origins: OriginPolicy): string | null {
  if (!request.headers.has("origin") && !request.headers.has("referer")) return "a request with neither Origin nor Referer";
  return crossSiteRefusal(request, origins);
}

/** What was asked, every field of the update: a repeat with the same key and another update is a conflict. */
function fingerprint(d: EventDraft): string {
  const fields = [d.topic, d.alternates ?? [], d.event, d.data, d.private === true, d.publisherId ?? null, d.retry ?? null];
  return new Bun.CryptoHasher("sha256").update(JSON.stringify(fields)).digest("hex");
}

export const mercurePublishRoutes = (
  hub: Hub,
  auth: Authorizer,
  origins: OriginPolicy,
  metrics: Metrics,
  limits: BodyLimits,
  options: MercureOptions,
) =>
  new Elysia({ name: "mercure-publish" }).post(
    HUB_PATH,
    async ({ body, headers, request }) => {
      const draft = body as EventDraft;
      const scoped = idempotency(headers["idempotency-key"], SCOPE, () => fingerprint(draft));
      const { receipts } = await hub.publish([draft], scoped);
      const receipt = receipts[0];
      if (!receipt) throw new HeraldError("internal", "the log answered a publish without a receipt");
      // A repeat is the same request, so the publisher's id (if any) is the one the first answer gave.
      return new Response(mercureId({ id: receipt.id, publisherId: draft.publisherId }), {
        headers: tokenInUrl(request) ? PRIVATE_TEXT : TEXT,
      });
    },
    {
      // Everything that refuses a request without reading its body comes first: the media type, the cross-site
      // rule for a cookie, the token; then the form, and the token's grants on every topic of the update.
      parse: async ({ request }) => {
        try {
          const type = (request.headers.get("content-type") ?? "").split(";")[0]?.trim().toLowerCase();
          if (type !== FORM) throw new HeraldError("unsupported_media_type", `a Mercure publish is sent as ${FORM}`);
          let credential: Credential | undefined;
          const token = () => {
            credential ??= mercureToken(request, options.cookie);
            return credential;
          };
          if (!auth.openMode && token()?.source === "cookie") {
            const refusal = cookieRefusal(request, origins);
            if (refusal !== null) {
              metrics.crossSiteRefused++;
              throw new HeraldError(
                "cross_site_request",
                `${refusal} may not publish with a cookie: publish from this hub's origin or one named in HERALD_CORS_ORIGINS, or send the token in the Authorization header`,
              );
            }
          }
          await auth.authorizePublish(token, []);
          const fields = parseForm(await readText(request, limits), MAX_FIELDS);
          const draft = updateDraft(fields, new URL(HUB_PATH, request.url), limits.maxEventBytes);
          await auth.authorizePublish(token, [draft.topic, ...(draft.alternates ?? [])]);
          return draft;
        } catch (error) {
          throw challenged(error, options.resourceMetadata);
        }
      },
      headers: IdempotencyHeaders,
      response: {
        200: t.String({ description: "The update's id" }),
        400: ErrorResponse,
        401: ErrorResponse,
        403: ErrorResponse,
        413: ErrorResponse,
        415: ErrorResponse,
        422: ErrorResponse,
        503: ErrorResponse,
        507: ErrorResponse,
      },
      detail: {
        operationId: "mercurePublish",
        summary: "Publish a Mercure update",
        description:
          "A Mercure publish (drafts 07 and 08): the form's `topic` fields (the canonical topic, then alternates), `data`, `private`, `id`, `type` and `retry` become one event of the log, answered once committed with the update's id as `text/plain`: the publisher's `id`, else `urn:herald:<id>`. The token (`Authorization: Bearer`, the `authorization` query parameter, or the `mercureAuthorization` cookie) must grant publishing on every topic of the update. An `Idempotency-Key` works as on the native API.",
        tags: ["mercure"],
        requestBody: {
          required: true,
          content: {
            [FORM]: {
              schema: { $ref: "#/components/schemas/MercureUpdate" },
              // One `topic=` field per topic, as Symfony and the drafts send them.
              encoding: { topic: { style: "form", explode: true } },
            },
          },
        },
        responses: {
          200: {
            description: "Committed to the log: the update's id",
            content: { "text/plain": { schema: { type: "string" }, example: "urn:herald:42" } },
          },
          401: UNAUTHORIZED_RESPONSE,
          403: forbiddenResponse(
            "The token does not grant publishing on one of the topics (`forbidden`), or a cookie-authenticated publish came from another site (`cross_site_request`)",
          ),
          413: { description: "The body, `data`, a field, or the number of fields or topics is past its limit" },
          415: { description: "The body is not `application/x-www-form-urlencoded` (`unsupported_media_type`)" },
        },
      },
    },
  );
