/** A host as it goes into a URL: IPv6 addresses in brackets (`http://[::1]:8080`). */
export const urlHost = (host: string): string => (host.includes(":") ? `[${host}]` : host);
