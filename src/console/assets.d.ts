/** Types of the files imported as text or as embedded file paths (`with { type: "text" | "file" }`), so the binary carries them. */

// `type: "file"`: a path that Bun.file can read, inside the compiled binary too.
declare module "swagger-ui-dist/swagger-ui-bundle.js" {
  const path: string;
  export default path;
}
declare module "swagger-ui-dist/swagger-ui.css" {
  const path: string;
  export default path;
}

// `type: "text"`: the console's own assets, as strings.
declare module "*/console/console.js" {
  const text: string;
  export default text;
}
declare module "*/console/feed.js" {
  const text: string;
  export default text;
}
declare module "*/console/events.css" {
  const text: string;
  export default text;
}
declare module "*/console/console.css" {
  const text: string;
  export default text;
}
declare module "*/console/favicon.svg" {
  const text: string;
  export default text;
}
