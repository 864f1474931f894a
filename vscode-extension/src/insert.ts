/**
 * Where a picked citation key goes: into the key list of the \cite around the cursor, or as a new \cite.
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
 * The edit that adds `key` for a suggestion the user picked.
 * @param cite the server's `cite` (null when the cursor is not inside a citation command)
 * @param listText the document's text in `cite.range` (ignored when cite is null)
 * @param cursor where to insert `\cite{key}` when cite is null
 * @param command the citation command for a new citation
 */
export function citeEdit(
  key: string,
  cite: CiteContext | null,
  listText: string,
  cursor: LspPosition,
  command = 'cite',
): InsertResult {
  if (cite === null) {
    return { kind: 'edit', edit: { range: { start: cursor, end: cursor }, newText: `\\${command}{${key}}` } };
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
