import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerStatus } from '../src/protocol';
import { isServerStatus, statusBarLook, statusLines } from '../src/status';
import { suggestionItem, suggestionItems } from '../src/suggest';

const status = (over: Partial<ServerStatus> = {}): ServerStatus => ({
  backend: 'hybrid',
  model: 'all-MiniLM-L6-v2',
  state: 'ready',
  message: '',
  indexedEntries: 120,
  bibFiles: ['/w/refs.bib'],
  lastLatencyMs: 41.6,
  ...over,
});

test('status bar follows the reranker state', () => {
  assert.equal(statusBarLook('running', status()).text, '$(book) texcite: ready');
  assert.equal(statusBarLook('running', status()).background, undefined);
  assert.equal(statusBarLook('running', status({ state: 'loading' })).text, '$(sync~spin) texcite: loading');
  const fallback = statusBarLook('running', status({ state: 'fallback', message: 'vLLM unreachable; BM25 only' }));
  assert.equal(fallback.text, '$(warning) texcite: fallback');
  assert.equal(fallback.background, 'statusBarItem.warningBackground');
  assert.match(fallback.tooltip, /vLLM unreachable/);
  assert.equal(statusBarLook('running', status({ state: 'off' })).text, '$(circle-slash) texcite: off');
});

test('status bar before and without a server', () => {
  assert.equal(statusBarLook('starting', undefined).text, '$(sync~spin) texcite: starting');
  assert.equal(statusBarLook('running', undefined).text, '$(sync~spin) texcite: starting');
  assert.equal(statusBarLook('not-installed', status()).background, 'statusBarItem.errorBackground');
  assert.match(statusBarLook('stopped', undefined).text, /stopped/);
});

test('status lines', () => {
  assert.deepEqual(statusLines(status()), [
    'Reranker: ready (backend hybrid, model all-MiniLM-L6-v2)',
    'Indexed entries: 120 from 1 .bib file',
    'Last ranking: 42 ms',
  ]);
  const lines = statusLines(status({ state: 'off', backend: 'none', model: '', bibFiles: [], indexedEntries: 0, lastLatencyMs: null, message: 'BM25 only' }));
  assert.deepEqual(lines, ['Reranker: off (backend none)', 'BM25 only', 'Indexed entries: 0 from 0 .bib files']);
});

test('status shape check', () => {
  assert.equal(isServerStatus(status()), true);
  assert.equal(isServerStatus(null), false);
  assert.equal(isServerStatus({ state: 'ready' }), false);
});

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
