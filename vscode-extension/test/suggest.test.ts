import { test } from 'node:test';
import assert from 'node:assert/strict';
import { suggestionItem, suggestionItems } from '../src/suggest';

test('suggestion items: title, key, authors · year · venue', () => {
  const item = suggestionItem({
    key: 'vaswani2017',
    rank: 1,
    score: 0.93,
    title: 'Attention Is All You Need',
    authors: 'Vaswani, Shazeer, Parmar et al.',
    year: '2017',
    venue: 'NeurIPS',
  });
  assert.deepEqual(item, {
    label: 'Attention Is All You Need',
    description: 'vaswani2017',
    detail: 'Vaswani, Shazeer, Parmar et al. · 2017 · NeurIPS',
    key: 'vaswani2017',
  });
  const bare = suggestionItem({ key: 'k', rank: 2, score: 0, title: '', authors: '', year: null, venue: '' });
  assert.deepEqual(bare, { label: 'k', description: 'k', detail: '', key: 'k' });
  assert.equal(suggestionItem({ key: 'k', rank: 1, score: 0, title: 'T', authors: 'A', year: 2020, venue: '' }).detail, 'A · 2020');
  assert.deepEqual(
    suggestionItems([
      { key: 'a', rank: 1, score: 2, title: 'A', authors: '', year: null, venue: '' },
      { key: 'b', rank: 2, score: 1, title: 'B', authors: '', year: null, venue: '' },
    ]).map((i) => i.key),
    ['a', 'b'],
  );
});
