/**
 * The hub's OAuth 2.0 protected resource metadata (RFC 9728, draft 08 "Protected Resource Metadata"): how a client
 * learns the `aud` its tokens must name, the authorization details the hub reads, and where it takes a token.
 * Served once the hub has a resource identifier (HERALD_MERCURE_AUDIENCE) and checks tokens; draft 08 clients may
 * take a hub without it for a draft 07 one.
 */
import { Elysia } from "elysia";
import { MERCURE_DETAIL_TYPE } from "../../auth/claims";
import { HUB_PATH } from "./update";

/** RFC 9728: the well-known prefix put before the resource's path. */
export const METADATA_PATH = `/.well-known/oauth-protected-resource${HUB_PATH}`;

/** What the metadata says, and where it is. */
export interface ResourceMetadata {
  /** The absolute URL of the document, for the `resource_metadata` of every challenge. */
  readonly url: string;
  readonly document: Record<string, unknown>;
}

/** What the hub does that its metadata tells. */
export interface MetadataOptions {
  /** The cookie a token may come in. */
  readonly cookie: string;
  /** Whether active subscriptions are on (HERALD_MERCURE_SUBSCRIPTIONS). */
  readonly subscriptions: boolean;
}

/**
 * The metadata of a hub whose resource identifier is `resource`, or undefined when `resource` is no absolute URL
 * (nothing then to derive the document's URL from, as RFC 9728 does).
 */
export function resourceMetadata(resource: string, { cookie, subscriptions }: MetadataOptions): ResourceMetadata | undefined {
  if (!URL.canParse(resource)) return undefined;
  const { origin } = new URL(resource);
  if (origin === "null") return undefined;
  return {
    url: `${origin}${METADATA_PATH}`,
    document: {
      resource,
      authorization_details_types_supported: [MERCURE_DETAIL_TYPE],
      // The cookie is no RFC 6750 method, and draft 08 accepts no token in the query: it is said apart.
      bearer_methods_supported: ["header"],
      mercure_cookie: cookie,
      // Left out, the set would be `exact` and `urlpattern`.
      mercure_matcher_types_supported: ["exact", "urlpattern"],
      // Draft 08 wants the member left out, not false, on a hub without them.
      ...(subscriptions && { mercure_subscriptions: true }),
    },
  };
}

export const mercureMetadataRoutes = (metadata: ResourceMetadata | undefined) => {
  const app = new Elysia({ name: "mercure-metadata" });
  if (metadata === undefined) return app;
  return app.get(METADATA_PATH, () => Response.json(metadata.document), { detail: { hide: true } });
};
