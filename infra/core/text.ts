/**
 * Characters a reader cannot see or that change how a line reads: control characters (newline, tab,
 * escape), zero-width characters, bidirectional marks and overrides, line/paragraph separators, the byte
 * order mark and lone surrogates. A value holding one looks fine in review and breaks (or lies) later.
 */
const HIDDEN =
  // eslint-disable-next-line no-control-regex -- control characters are what this finds
  /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]|[\ud800-\udfff]/u;
const HIDDEN_ALL = new RegExp(HIDDEN.source, "gu");

/** The first hidden character of `text`, named (`U+200B`), or undefined when there is none. */
export function hiddenCharacter(text: string): string | undefined {
  const m = HIDDEN.exec(text);
  return m ? describe(m[0]) : undefined;
}

function describe(ch: string): string {
  const named: Record<string, string> = { "\n": "a newline", "\r": "a carriage return", "\t": "a tab" };
  return named[ch] ?? `U+${ch.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`;
}

/** `text` with every hidden character written as an escape (`\n`, `\u200b`), safe to print on one line. */
export function escapeText(text: string): string {
  return text.replace(HIDDEN_ALL, (ch) => {
    if (ch === "\n") return "\\n";
    if (ch === "\r") return "\\r";
    if (ch === "\t") return "\\t";
    return `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
}
