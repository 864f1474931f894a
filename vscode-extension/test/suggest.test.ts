import { test } from 'node:test';
import assert from 'node:assert/strict';
import { suggestionItem, suggestionItems } from '../src/suggest';

const base = { rank: 1, score: 0, relevance: 100, reasons: [] as string[], library: null };

test('suggestion items: title, key · relevance, authors · year · venue — reasons', () => {
  const item = suggestionItem({
    ...base,
    key: 'vaswani2017',
    score: 0.93,
    relevance: 80,
    reasons: ['cited together with bahdanau2015', "title matches 'attention'"],
    title: 'Attention Is All You Need',
    authors: 'Vaswani, Shazeer, Parmar et al.',
    year: '2017',
    venue: 'NeurIPS',
  });
  assert.deepEqual(item, {
    label: 'Attention Is All You Need',
    description: 'vaswani2017 · 80',
    detail: "Vaswani, Shazeer, Parmar et al. · 2017 · NeurIPS — cited together with bahdanau2015; title matches 'attention'",
    key: 'vaswani2017',
  });
  const bare = suggestionItem({ ...base, key: 'k', rank: 2, title: '', authors: '', year: null, venue: '' });
  assert.deepEqual(bare, { label: 'k', description: 'k · 100', detail: '', key: 'k' });
  assert.equal(suggestionItem({ ...base, key: 'k', title: 'T', authors: 'A', year: 2020, venue: '' }).detail, 'A · 2020');
  assert.deepEqual(
    suggestionItems([
      { ...base, key: 'a', score: 2, title: 'A', authors: '', year: null, venue: '' },
      { ...base, key: 'b', rank: 2, score: 1, title: 'B', authors: '', year: null, venue: '' },
    ]).map((i) => i.key),
    ['a', 'b'],
  );
});
