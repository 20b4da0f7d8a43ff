/** createApp: the HTTP application over a hub, its OpenAPI document rendered, not listening yet. */
import { Elysia } from "elysia";
import { Authorizer } from "./auth/authorizer";
import type { Config } from "./config";
import { maxRequestBytes } from "./http/body";
import { TrustedProxies } from "./http/client-address";
import { consoleRoutes } from "./http/console";
import { cors } from "./http/cors";
import { crossSiteGuard } from "./http/cross-site";
import { docsRoutes, renderDocument } from "./http/docs";
import { errorHandling } from "./http/errors";
import { type HubHealth, healthRoutes, ownHealth } from "./http/health";
import { historyRoutes } from "./http/history";
import { mercureMetadataRoutes, resourceMetadata } from "./http/mercure/metadata";
import { mercurePublishRoutes } from "./http/mercure/publish";
import { mercureSubscribeRoutes } from "./http/mercure/subscribe";
import { SubscriptionEvents } from "./http/mercure/subscription-events";
import { mercureSubscriptionsRoutes } from "./http/mercure/subscriptions-api";
import { metricsRoutes, ownMetrics } from "./http/metrics";
import { OriginPolicy } from "./http/origins";
import { publishRoutes } from "./http/publish";
import { requestLog } from "./http/request-log";
import { RouteMethods } from "./http/route-methods";
import { streamRoutes } from "./http/stream";
import { type SharedSlots, StreamAdmission } from "./http/stream-admission";
import { subscriptionRoutes } from "./http/subscriptions";
import type { Hub } from "./hub/hub";
import type { EventLog } from "./log/event-log";
import type { Logger } from "./logger";
import type { Metrics } from "./metrics";
import { patternBase } from "./patterns/url-pattern";

export interface AppDeps {
  readonly config: Config;
  readonly hub: Hub;
  /** The hub's log: routes that read it (history, health, metrics, resume) are handed it here. */
  readonly log: EventLog;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly startedAt: number;
  /** Set on a worker thread (HERALD_WORKERS > 1): what the coordinator of every worker answers for the whole hub. */
  readonly hubWide?: HubWide;
}

/** What a worker thread asks the main thread, which counts over every worker. */
export interface HubWide {
  readonly slots: SharedSlots;
  /** As last told by the main thread (a turn behind it at most), so that /health answers at once. */
  health(): HubHealth;
  /** The whole hub's exposition: counters summed over every worker. */
  metrics(): Promise<string>;
}

/** The application, ready to serve: its OpenAPI document is rendered before any request can change it. */
export async function createApp(deps: AppDeps) {
  const methods = new RouteMethods();
  const app = routes(deps, methods);
  methods.learn(app.router.history);
  await renderDocument(app);
  return app;
}

function routes({ config, hub, log, logger, metrics, startedAt, hubWide }: AppDeps, methods: RouteMethods) {
  const auth = new Authorizer({
    secret: config.jwtSecret,
    publicKeys: config.jwtPublicKeys,
    publicTopics: config.publicTopics,
    accessToken: { audience: config.mercureAudience, issuer: config.mercureIssuer },
  });
  const origins = new OriginPolicy(config.corsOrigins);
  const admission = new StreamAdmission({
    maxStreamsPerClient: config.maxStreamsPerClient,
    proxies: new TrustedProxies(config.trustedProxies),
    metrics,
    maxStreamAgeMs: config.maxStreamAgeMs,
    shared: hubWide?.slots,
  });
  // Open mode checks no token: there is nothing to tell a client about tokens.
  const metadata = auth.openMode
    ? undefined
    : resourceMetadata(config.mercureAudience, { cookie: config.mercureCookie, subscriptions: config.mercureSubscriptions });
  const mercure = {
    cookie: config.mercureCookie,
    resourceMetadata: metadata?.url,
    patternBase: patternBase(config.mercureAudience),
  };
  const subscriptionEvents = config.mercureSubscriptions ? new SubscriptionEvents(hub, metrics) : undefined;
  const limits = { maxEventBytes: config.maxEventBytes, maxRequestBytes: maxRequestBytes(config.maxEventBytes) };
  // normalize: false makes unknown body properties an error rather than silently dropped (a typo'd "evnt").
  return new Elysia({ normalize: false })
    .use(requestLog(logger))
    .use(cors(origins))
    .use(errorHandling(logger, methods))
    .use(crossSiteGuard(auth, origins, metrics))
    .use(publishRoutes(hub, auth, limits))
    .use(mercurePublishRoutes(hub, auth, origins, metrics, limits, mercure))
    .use(mercureSubscribeRoutes(hub, log, auth, admission, mercure, subscriptionEvents))
    .use(config.mercureSubscriptions ? mercureSubscriptionsRoutes(hub.presence, log, auth, mercure) : new Elysia())
    .use(mercureMetadataRoutes(metadata))
    .use(streamRoutes(hub, log, auth, admission))
    .use(historyRoutes(log, auth, hub.presence))
    .use(subscriptionRoutes(hub.presence, auth))
    .use(healthRoutes(hub, hubWide ? () => hubWide.health() : ownHealth(hub, log), startedAt))
    .use(metricsRoutes(hubWide ? () => hubWide.metrics() : ownMetrics(hub, log, metrics)))
    .use(docsRoutes())
    .use(consoleRoutes());
}
