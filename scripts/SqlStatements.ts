/**
 * The statements of a simple query (for the build's scripted server and the bench's proxy): its text split at each `;` outside quotes (single, double; no
 * dollar quoting, which none of the clients sends in a query of several statements).
 */
export const statementsOf = (text: string): ReadonlyArray<string> => {
  const statements: Array<string> = []
  let quote: string | undefined
  let start = 0
  for (let at = 0; at < text.length; at++) {
    const char = text[at]
    if (quote !== undefined) {
      if (char === quote) quote = undefined
    } else if (char === "'" || char === "\"") quote = char
    else if (char === ";") {
      statements.push(text.slice(start, at))
      start = at + 1
    }
  }
  statements.push(text.slice(start))
  return statements.filter((statement) => statement.trim() !== "")
}
