import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerStatus } from '../src/protocol';
import {
  loadingLabel,
  rankingLabel,
  shortModelName,
  statusBarLook,
  statusLines,
  toServerStatus,
  tooltipLines,
} from '../src/statusText';

/** BM25 + MiniLM, no neural reranker configured. */
const status = (over: Partial<ServerStatus> = {}): ServerStatus => ({
  ranking: 'BM25 + MiniLM',
  loading: '',
  recall: 'hybrid',
  reranker: 'off',
  rerankerBackend: '',
  rerankerModel: '',
  message: '',
  indexedEntries: 120,
  bibFiles: ['/w/refs.bib'],
  lastLatencyMs: 41.6,
  ...over,
});

const qwen = (over: Partial<ServerStatus> = {}): ServerStatus =>
  status({
    ranking: 'BM25 + MiniLM → Qwen3-Reranker-4B (vllm-http at http://gpu:8000)',
    reranker: 'ready',
    rerankerBackend: 'vllm-http',
    rerankerModel: 'Qwen/Qwen3-Reranker-4B',
    ...over,
  });

test('the status bar says what ranks now', () => {
  const bm25 = statusBarLook('running', status({ ranking: 'BM25', recall: 'bm25' }));
  assert.equal(bm25.text, '$(book) texcite: BM25');
  assert.equal(bm25.background, undefined);
  assert.equal(statusBarLook('running', status()).text, '$(book) texcite: BM25 + MiniLM');
  assert.equal(statusBarLook('running', qwen()).text, '$(book) texcite: BM25 + MiniLM → Qwen3');
});

test('the status bar spins while something loads, and names it', () => {
  const embedding = status({ ranking: 'BM25', recall: 'bm25', loading: 'MiniLM: embedding 32 entries' });
  assert.equal(statusBarLook('running', embedding).text, '$(sync~spin) texcite: BM25 (loading MiniLM)');
  const reranker = qwen({ ranking: 'BM25 + MiniLM', reranker: 'loading', loading: 'reranker Qwen3-Reranker-4B' });
  assert.equal(statusBarLook('running', reranker).text, '$(sync~spin) texcite: BM25 + MiniLM (loading Qwen3)');
  // a loading reranker without a loading text still spins
  const quiet = qwen({ ranking: 'BM25 + MiniLM', reranker: 'loading', loading: '' });
  assert.equal(statusBarLook('running', quiet).text, '$(sync~spin) texcite: BM25 + MiniLM (loading Qwen3)');
});

test('a fallback looks like a warning and says why in the tooltip', () => {
  const look = statusBarLook(
    'running',
    qwen({ ranking: 'BM25 + MiniLM', reranker: 'fallback', message: 'vllm-http: http://gpu:8000 unreachable; ranking without the reranker' }),
  );
  assert.equal(look.text, '$(warning) texcite: BM25 + MiniLM');
  assert.equal(look.background, 'statusBarItem.warningBackground');
  assert.match(look.tooltip, /unreachable/);
  assert.match(look.tooltip, /Reranker: Qwen\/Qwen3-Reranker-4B via vllm-http \(fallback\)/);
});

test('no reranker is named unless the server says one is configured', () => {
  // the model setting's default is reported, but the backend is none: nothing about Qwen anywhere
  const none = status({ ranking: 'BM25 → Qwen3-Reranker-4B', rerankerBackend: '', rerankerModel: 'Qwen/Qwen3-Reranker-4B' });
  const look = statusBarLook('running', none);
  assert.equal(look.text, '$(book) texcite: BM25');
  assert.doesNotMatch(look.tooltip, /Qwen|Reranker/);
  const loading = statusBarLook('running', status({ reranker: 'loading', loading: 'reranker Qwen3-Reranker-4B', rerankerModel: 'Qwen3' }));
  assert.equal(loading.text, '$(sync~spin) texcite: BM25 + MiniLM (loading reranker)');
  assert.doesNotMatch(loading.tooltip, /Qwen/);
  assert.equal(rankingLabel(none), 'BM25');
  // and the normalizer drops a model without a backend
  assert.equal(toServerStatus({ ...none })!.rerankerModel, '');
});

test('status bar before and without a server', () => {
  assert.equal(statusBarLook('starting', undefined).text, '$(sync~spin) texcite: starting');
  assert.equal(statusBarLook('running', undefined).text, '$(sync~spin) texcite: starting');
  assert.equal(statusBarLook('not-installed', status()).background, 'statusBarItem.errorBackground');
  assert.match(statusBarLook('stopped', undefined).text, /stopped/);
});

test('status lines: ranking, loading, reranker, message, entries, latency', () => {
  assert.deepEqual(statusLines(status()), [
    'Ranking: BM25 + MiniLM',
    'Indexed entries: 120 from 1 .bib file',
    'Last ranking: 42 ms',
  ]);
  assert.deepEqual(statusLines(qwen({ reranker: 'loading', ranking: 'BM25 + MiniLM', loading: 'reranker Qwen3-Reranker-4B', message: 'first use' })), [
    'Ranking: BM25 + MiniLM',
    'Loading: reranker Qwen3-Reranker-4B',
    'Reranker: Qwen/Qwen3-Reranker-4B via vllm-http (loading)',
    'first use',
    'Indexed entries: 120 from 1 .bib file',
    'Last ranking: 42 ms',
  ]);
  const empty = status({ ranking: 'BM25', recall: 'bm25', bibFiles: [], indexedEntries: 0, lastLatencyMs: null, message: 'no .bib files' });
  assert.deepEqual(statusLines(empty), ['Ranking: BM25', 'no .bib files', 'Indexed entries: 0 from 0 .bib files']);
});

test('the tooltip lists the .bib files, a long list cut short', () => {
  assert.deepEqual(tooltipLines(status()).slice(-1), ['  /w/refs.bib']);
  const many = status({ bibFiles: Array.from({ length: 11 }, (_, i) => `/w/${i}.bib`) });
  const lines = tooltipLines(many);
  assert.equal(lines.filter((l) => l.startsWith('  /w/')).length, 8);
  assert.equal(lines[lines.length - 1], '  … and 3 more');
});

test('short names for the status bar', () => {
  assert.equal(shortModelName('Qwen/Qwen3-Reranker-4B'), 'Qwen3');
  assert.equal(shortModelName('Qwen3-Reranker-0.6B'), 'Qwen3');
  assert.equal(shortModelName('/models/bge-reranker-v2-m3/'), 'bge');
  assert.equal(shortModelName('mixedbread-ai/mxbai-rerank-large-v1'), 'mxbai');
  assert.equal(shortModelName('reranker-base'), 'reranker-base');
  assert.equal(shortModelName(''), 'reranker');
  assert.equal(shortModelName('a-very-long-model-name-without-the-word'), 'a-very-long-model-name-…');
  assert.equal(loadingLabel('MiniLM: embedding 32 entries'), 'MiniLM');
  assert.equal(loadingLabel('reranker Qwen3-Reranker-4B'), 'Qwen3');
  assert.equal(loadingLabel('reranker Qwen/Qwen3-Reranker-4B: 2 of 8 shards'), 'Qwen3');
  // an empty ranking is derived from the structured fields
  assert.equal(rankingLabel(qwen({ ranking: '' })), 'BM25 + MiniLM → Qwen3');
  assert.equal(rankingLabel(status({ ranking: '', recall: 'bm25' })), 'BM25');
});

test('status payloads are checked and completed', () => {
  assert.deepEqual(toServerStatus(qwen()), qwen());
  assert.equal(toServerStatus(null), undefined);
  assert.equal(toServerStatus([]), undefined);
  assert.equal(toServerStatus({ ranking: 'BM25' }), undefined);
  assert.deepEqual(toServerStatus({ ranking: 'BM25', reranker: 'weird', recall: 42, bibFiles: ['a.bib', 3], lastLatencyMs: 'x' }), {
    ranking: 'BM25',
    loading: '',
    recall: 'bm25',
    reranker: 'off',
    rerankerBackend: '',
    rerankerModel: '',
    message: '',
    indexedEntries: 0,
    bibFiles: ['a.bib'],
    lastLatencyMs: null,
  });
});

