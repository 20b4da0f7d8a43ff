/** The pure parts of the security rules: origins, proxies, client slots, cross-site verdicts, their settings. */
import { describe, expect, test } from "bun:test";
import { loadConfig } from "../src/config";
import { TrustedProxies } from "../src/http/client-address";
import { bearerToken } from "../src/http/credentials";
import { crossSiteRefusal } from "../src/http/cross-site";
import { OriginPolicy } from "../src/http/origins";
import { ClientStreams } from "../src/http/stream-admission";
import { parseAddressRange } from "../src/net/address-range";
import { normalizeOrigin } from "../src/net/origin";

describe("origins", () => {
  test("are normalized as browsers write them; anything with a path or another scheme is not one", () => {
    expect(normalizeOrigin("https://App.Example/")).toBe("https://app.example");
    expect(normalizeOrigin("https://app.example:443")).toBe("https://app.example");
    expect(normalizeOrigin("http://127.0.0.1:8080")).toBe("http://127.0.0.1:8080");
    expect(normalizeOrigin("*")).toBe("*");
    for (const bad of ["app.example", "https://app.example/path", "ftp://app.example", "https://u:p@app.example", "null"]) {
      expect(normalizeOrigin(bad)).toBeNull();
    }
  });

  test("HERALD_CORS_ORIGINS is checked at start-up", () => {
    expect(loadConfig([], { HERALD_CORS_ORIGINS: "https://A.example/, *" }).corsOrigins).toEqual(["https://a.example", "*"]);
    expect(() => loadConfig([], { HERALD_CORS_ORIGINS: "app.example" })).toThrow(
      /HERALD_CORS_ORIGINS: "app.example" is not an origin/,
    );
  });
});

describe("trusted proxies", () => {
  test("addresses and CIDR ranges, v4 and v6; anything else is refused at start-up", () => {
    expect(parseAddressRange("10.0.0.0/8")).toEqual({ address: "10.0.0.0", prefix: 8, family: "ipv4" });
    expect(parseAddressRange("::1")).toEqual({ address: "::1", prefix: 128, family: "ipv6" });
    for (const bad of ["10.0.0.0/33", "fd00::/129", "proxy.local", "10.0.0.1/8/1", "10.0.0.0/", "10.0.0.0/x"]) {
      expect(parseAddressRange(bad)).toBeNull();
    }
    expect(loadConfig([], { HERALD_TRUSTED_PROXIES: "10.0.0.0/8, ::1" }).trustedProxies).toEqual(["10.0.0.0/8", "::1"]);
    expect(() => loadConfig([], { HERALD_TRUSTED_PROXIES: "nginx" })).toThrow(/"nginx" is not an IP address or a CIDR range/);
    expect(loadConfig([], {}).maxStreamsPerClient).toBe(0);
    expect(() => loadConfig([], { HERALD_MAX_STREAMS_PER_CLIENT: "-1" })).toThrow(/HERALD_MAX_STREAMS_PER_CLIENT/);
  });

  test("the client is the right-most forwarded address that is not a proxy, only when the peer is one", () => {
    const proxies = new TrustedProxies(["10.0.0.0/8", "fd00::/8"]);
    expect(proxies.clientOf("10.0.0.1", "203.0.113.1")).toBe("203.0.113.1");
    expect(proxies.clientOf("::ffff:10.0.0.1", "203.0.113.1")).toBe("203.0.113.1");
    expect(proxies.clientOf("10.0.0.1", "198.51.100.1, 203.0.113.1, 10.9.9.9")).toBe("203.0.113.1");
    expect(proxies.clientOf("fd00::1", "2001:db8::7")).toBe("2001:db8::7");
    expect(proxies.clientOf("10.0.0.1", "10.0.0.2, 10.0.0.3")).toBe("10.0.0.2");
    expect(proxies.clientOf("10.0.0.1", null)).toBe("10.0.0.1");
    expect(proxies.clientOf("10.0.0.1", " , ")).toBe("10.0.0.1");
    expect(proxies.clientOf("192.0.2.9", "203.0.113.1")).toBe("192.0.2.9");
    expect(new TrustedProxies([]).clientOf("::ffff:127.0.0.1", "203.0.113.1")).toBe("127.0.0.1");
  });
});

describe("client stream slots", () => {
  test("are counted exactly, given back once, and forgotten at zero", () => {
    const slots = new ClientStreams(2);
    const a = slots.take("ip:a");
    const b = slots.take("ip:a");
    expect(() => slots.take("ip:a")).toThrow(expect.objectContaining({ code: "too_many_streams", status: 429 }));
    slots.take("ip:b");
    a();
    a();
    const c = slots.take("ip:a");
    expect(() => slots.take("ip:a")).toThrow();
    b();
    c();
    expect((slots as unknown as { open: Map<string, number> }).open.has("ip:a")).toBe(false);
  });
});

describe("credentials", () => {
  const request = (headers: Record<string, string>, query = "") => new Request(`http://hub/stream${query}`, { headers });
  test("header, then access_token, then cookie; other schemes are not tokens; an undecodable cookie is kept as sent", () => {
    expect(bearerToken(request({ authorization: "Bearer abc", cookie: "herald_token=c" }, "?access_token=q"))).toEqual({
      token: "abc",
      source: "header",
    });
    expect(bearerToken(request({ authorization: "Basic abc", cookie: "herald_token=c" }, "?access_token=q"))?.source).toBe(
      "query",
    );
    expect(bearerToken(request({ authorization: "Basic abc", cookie: "a=1; herald_token=c%2E" }))).toEqual({
      token: "c.",
      source: "cookie",
    });
    expect(bearerToken(request({ cookie: "herald_token=%" }))).toEqual({ token: "%", source: "cookie" });
    expect(bearerToken(request({ authorization: "Bearer" }))).toEqual({ token: "", source: "header" });
    expect(bearerToken(request({ authorization: "Bearerish x" }))).toBeUndefined();
  });
});

describe("cross-site verdicts", () => {
  const policy = new OriginPolicy(["https://app.example", "*"]);
  const verdict = (headers: Record<string, string>) =>
    crossSiteRefusal(
      new Request("http://hub.example/events", { method: "POST", headers: { host: "hub.example", ...headers } }),
      policy,
    );
  test("`*` never makes an origin trusted; the hub's own host and named origins are", () => {
    expect(verdict({ origin: "https://evil.example" })).toBe('origin "https://evil.example"');
    expect(verdict({ origin: "https://app.example" })).toBeNull();
    expect(verdict({ origin: "http://hub.example" })).toBeNull();
    expect(verdict({ origin: "http://hub.example:8080" })).not.toBeNull();
    expect(verdict({ origin: "null", "sec-fetch-site": "same-origin" })).not.toBeNull();
    expect(verdict({ origin: "https://evil.example", "sec-fetch-site": "same-origin" })).toBeNull();
    expect(verdict({})).toBeNull();
    expect(verdict({ "sec-fetch-site": "none" })).toBeNull();
    expect(verdict({ "sec-fetch-site": "same-site" })).not.toBeNull();
  });
});
