/** Debian's headless Chromium driven by playwright-core (never a downloaded browser), recording every request. */
import { existsSync } from "node:fs";
import { type Browser, chromium, type Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
/** Browser tests skip only when the system Chromium is missing (.ci/run installs it). */
export const hasChromium = existsSync(CHROMIUM);

const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export function launch(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: [...ARGS, ...extraArgs], headless: true });
}

export interface WatchedPage {
  page: Page;
  /** Every URL the page requested, in order. */
  urls: string[];
  /** Uncaught page errors and console errors. */
  errors: string[];
}

export async function openPage(browser: Browser, viewport = { width: 1280, height: 800 }): Promise<WatchedPage> {
  const page = await browser.newPage({ viewport });
  const urls: string[] = [];
  const errors: string[] = [];
  page.on("request", (r) => urls.push(r.url()));
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  return { page, urls, errors };
}

/** URLs that would leave this machine: anything but loopback (and inline data: URLs, which are no request at all). */
export function external(urls: readonly string[]): string[] {
  return urls.filter((u) => {
    const url = new URL(u);
    if (url.protocol === "data:") return false;
    return !["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
  });
}
