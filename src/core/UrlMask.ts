/**
 * A URL as outputs show it. Proxy URLs may carry credentials (`https://user:token@proxy/`, `?api_key=...`):
 * those parts are replaced by `***`.
 */
export const maskUrl = (value: string): string => value.replace(/\/\/[^/?#@]*@/, "//***@").replace(/[?#].*$/, "?***")
