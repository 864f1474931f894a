/**
 * Where a picked citation key goes: into the key list of the \cite around the cursor, or as a new \cite
 * (tied with `~` to the word before it).
 *
 * Pure: no `vscode` import; positions are LSP positions (UTF-16 code units), as VS Code's are.
 */
import type { CiteContext, LspPosition, LspRange } from './protocol';

export interface TextEdit {
  range: LspRange;
  newText: string;
}

export type InsertResult = { kind: 'edit'; edit: TextEdit } | { kind: 'duplicate'; key: string };

/** The position reached after `text`, starting at `start`. */
export function advance(start: LspPosition, text: string): LspPosition {
  const lines = text.split(/\r\n|\r|\n/);
  if (lines.length === 1) {
    return { line: start.line, character: start.character + text.length };
  }
  return { line: start.line + lines.length - 1, character: lines[lines.length - 1].length };
}

/** The keys written in a key list, e.g. `a, b,` -> ['a', 'b']. */
export function splitKeys(listText: string): string[] {
  return listText
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k !== '');
}

/**
 * Whether a new citation after `before` (the character before the cursor, '' at the start of a line) gets a tie:
 * `faster~\cite{key}` as LaTeX style wants, but `(\cite{key}`, `{\cite{key}`, `word \cite{key}` stay as they are.
 */
export function needsTie(before: string): boolean {
  return before !== '' && !/^[\s(\[{~]$/.test(before);
}

export interface CiteEditOptions {
  /** The character just before the cursor ('' at the start of a line); decides the tie of a new citation. */
  before?: string;
  /** The citation command of a new citation. */
  command?: string;
}

/**
 * The edit that adds `key` for a suggestion the user picked.
 * @param cite the server's `cite` (null when the cursor is not inside a citation command)
 * @param listText the document's text in `cite.range` (ignored when cite is null)
 * @param cursor where to insert `\cite{key}` (or `~\cite{key}`, see needsTie) when cite is null
 */
export function citeEdit(
  key: string,
  cite: CiteContext | null,
  listText: string,
  cursor: LspPosition,
  options: CiteEditOptions = {},
): InsertResult {
  if (cite === null) {
    const tie = needsTie(options.before ?? '') ? '~' : '';
    const newText = `${tie}\\${options.command ?? 'cite'}{${key}}`;
    return { kind: 'edit', edit: { range: { start: cursor, end: cursor }, newText } };
  }
  if (cite.keys.includes(key) || splitKeys(listText).includes(key)) {
    return { kind: 'duplicate', key };
  }
  if (listText.trim() === '') {
    return { kind: 'edit', edit: { range: cite.range, newText: key } };
  }
  // Append after the last non-blank character, so `{a }` becomes `{a, key }` and `{a,}` becomes `{a, key}`.
  const body = listText.trimEnd();
  const at = advance(cite.range.start, body);
  const newText = body.endsWith(',') ? ` ${key}` : `, ${key}`;
  return { kind: 'edit', edit: { range: { start: at, end: at }, newText } };
}
