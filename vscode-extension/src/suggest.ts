/**
 * QuickPick items for the suggestions of `texcite/suggest`.
 *
 * Pure: no `vscode` import (the items are structurally vscode.QuickPickItem).
 */
import type { Suggestion } from './protocol';

export interface SuggestionItem {
  label: string;
  description: string;
  detail: string;
  key: string;
}

/** label = title, description = key · relevance, detail = authors · year · venue — why it ranked (empty parts left out). */
export function suggestionItem(s: Suggestion): SuggestionItem {
  const year = s.year === null || s.year === undefined ? '' : String(s.year);
  const entry = [s.authors, year, s.venue].map((p) => (p ?? '').toString().trim()).filter((p) => p !== '').join(' · ');
  const why = (s.reasons ?? []).join('; ');
  const detail = [entry, why].filter((p) => p !== '').join(' — ');
  const title = (s.title ?? '').trim();
  return { label: title || s.key, description: `${s.key} · ${s.relevance}`, detail, key: s.key };
}

export function suggestionItems(suggestions: Suggestion[]): SuggestionItem[] {
  return suggestions.map(suggestionItem);
}
