/** Mercure's pattern matchers as the hub's selectors: a URI template (draft 07) and a URL pattern (draft 08). */
import type { Selector } from "../names";
import { compileTemplate } from "./uri-template";
import { compileUrlPattern } from "./url-pattern";

/**
 * Draft 07's matcher: a URI template matches each topic it can expand to and the topic that is the same string
 * (every expansion starts with the text before its first `{`); a string without an expression matches itself,
 * and one with a `{` that is no valid template is refused.
 */
export function templateSelector(text: string): Selector {
  const test = compileTemplate(text);
  if (test === undefined) return { text, value: text, isPrefix: false };
  return {
    text,
    value: text.slice(0, text.indexOf("{")),
    isPrefix: true,
    pattern: { kind: "template", test: (topic) => topic === text || test(topic) },
  };
}

/**
 * Draft 08's `urlpattern` matcher, resolved against `base` (see patternBase). No literal prefix can be read off it: a host matches in any case, a relative
 * topic resolves against the hub's URL, so any topic may match.
 */
export function urlPatternSelector(text: string, base: string): Selector {
  return { text, value: "", isPrefix: true, pattern: { kind: "urlpattern", test: compileUrlPattern(text, base) } };
}
