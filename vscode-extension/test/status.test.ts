import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerStatus } from '../src/protocol';
import { rankingLabel, shortModelName, statusBarLook, statusLines, toServerStatus, tooltipLines } from '../src/statusText';

/** BM25 + MiniLM with the bibliography embedded, no neural reranker configured. */
const status = (over: Partial<ServerStatus> = {}): ServerStatus => ({
  dense: 'on',
  denseModel: 'MiniLM',
  reranker: 'off',
  rerankerBackend: '',
  rerankerModel: '',
  rerankerUrl: '',
  ranking: 'BM25 + MiniLM',
  recall: 'hybrid',
  denseLoading: '',
  embedded: 0,
  toEmbed: 0,
  message: '',
  indexedEntries: 120,
  bibFiles: ['/w/refs.bib'],
  lastLatencyMs: 41.6,
  adapting: 0,
  ...over,
});

/** The same with Qwen3-Reranker-4B on a vllm-http server, ready. */
const qwen = (over: Partial<ServerStatus> = {}): ServerStatus =>
  status({
    ranking: 'BM25 + MiniLM → Qwen3-Reranker-4B (vllm-http at http://gpu:8000)',
    reranker: 'ready',
    rerankerBackend: 'vllm-http',
    rerankerModel: 'Qwen/Qwen3-Reranker-4B',
    rerankerUrl: 'http://gpu:8000',
    ...over,
  });

/** BM25 alone: the recall mode is bm25. */
const bm25 = (over: Partial<ServerStatus> = {}): ServerStatus =>
  status({ dense: 'off', denseModel: '', ranking: 'BM25', recall: 'bm25', ...over });

const bar = (s: ServerStatus): string => statusBarLook('running', s).text;

test('the status bar says what ranks now', () => {
  const look = statusBarLook('running', bm25());
  assert.equal(look.text, '$(book) texcite: BM25');
  assert.equal(look.background, undefined);
  assert.equal(bar(status()), '$(book) texcite: BM25 + MiniLM');
  assert.equal(bar(qwen()), '$(book) texcite: BM25 + MiniLM → Qwen3');
  // a reranker that loads on first use is part of the ranking
  assert.equal(bar(qwen({ reranker: 'idle' })), '$(book) texcite: BM25 + MiniLM → Qwen3');
});

test('the label comes from the fields, not from the ranking text', () => {
  assert.equal(bar(status({ ranking: 'something else → Other-Reranker; x' })), '$(book) texcite: BM25 + MiniLM');
  assert.equal(bar(qwen({ ranking: '' })), '$(book) texcite: BM25 + MiniLM → Qwen3');
  assert.equal(rankingLabel(status({ recall: 'bm25' })), 'BM25');
});

test('while MiniLM loads, BM25 ranks and the item spins', () => {
  assert.equal(bar(status({ recall: 'bm25', ranking: 'BM25', denseLoading: 'model' })), '$(sync~spin) texcite: BM25 (loading MiniLM)');
});

test('while the bibliography is embedded, the item counts entries', () => {
  const embedding = status({ recall: 'bm25', ranking: 'BM25', denseLoading: 'embedding', embedded: 120, toEmbed: 224 });
  const look = statusBarLook('running', embedding);
  assert.equal(look.text, '$(sync~spin) texcite: BM25 (MiniLM 120/224 entries)');
  assert.match(look.tooltip, /^Ranking: BM25\nEmbedding the bibliography with MiniLM: 120 of 224 entries \(BM25 ranks meanwhile\)\n/);
});

test("while the project's citations are ranked to adapt to it, the item says so", () => {
  const adapting = statusBarLook('running', status({ adapting: 1 }));
  assert.equal(adapting.text, '$(sync~spin) texcite: BM25 + MiniLM (learning this project)');
  assert.match(adapting.tooltip, /Learning from this project's citations \(the order changes when done\)/);
  assert.equal(toServerStatus({ recall: 'hybrid', adapting: 2 })!.adapting, 2);
});

test('while the reranker loads, the item names it in one line', () => {
  assert.equal(bar(qwen({ reranker: 'loading' })), '$(sync~spin) texcite: BM25 + MiniLM (loading Qwen3)');
  const both = qwen({ reranker: 'loading', recall: 'bm25', denseLoading: 'embedding', embedded: 3, toEmbed: 10 });
  assert.equal(bar(both), '$(sync~spin) texcite: BM25 (MiniLM 3/10 entries, loading Qwen3)');
  assert.deepEqual(statusLines(qwen({ reranker: 'loading', message: 'first use' })), [
    'Ranking: BM25 + MiniLM → Qwen3-Reranker-4B (vllm-http at http://gpu:8000)',
    'Loading Qwen/Qwen3-Reranker-4B',
    'Reranker: Qwen/Qwen3-Reranker-4B via vllm-http at http://gpu:8000 (loading)',
    'first use',
    'Indexed entries: 120 from 1 .bib file',
    'Last ranking: 42 ms',
  ]);
});

test('a reranker fallback looks like a warning and says why in the tooltip', () => {
  const look = statusBarLook(
    'running',
    qwen({ ranking: 'BM25 + MiniLM', reranker: 'fallback', message: 'vllm-http: http://gpu:8000 unreachable; ranking without the reranker' }),
  );
  assert.equal(look.text, '$(warning) texcite: BM25 + MiniLM');
  assert.equal(look.background, 'statusBarItem.warningBackground');
  assert.match(look.tooltip, /\nvllm-http: http:\/\/gpu:8000 unreachable; ranking without the reranker\n/);
  assert.match(look.tooltip, /\nReranker: Qwen\/Qwen3-Reranker-4B via vllm-http at http:\/\/gpu:8000 \(failed; ranking without it\)\n/);
});

test('a failed dense model shows BM25, a warning and the reason', () => {
  const failed = status({ dense: 'failed', recall: 'bm25', ranking: 'BM25', message: 'the packaged MiniLM ONNX model is not installed' });
  const look = statusBarLook('running', failed);
  assert.equal(look.text, '$(warning) texcite: BM25');
  assert.equal(look.background, 'statusBarItem.warningBackground');
  assert.deepEqual(statusLines(failed).slice(0, 3), [
    'Ranking: BM25',
    'Dense model: MiniLM failed; BM25 ranks alone',
    'the packaged MiniLM ONNX model is not installed',
  ]);
});

test('no reranker is named unless the server says one is configured', () => {
  // a model without a backend (none configured): nothing about Qwen anywhere
  const none = toServerStatus({ ...status(), reranker: 'loading', rerankerModel: 'Qwen/Qwen3-Reranker-4B', rerankerUrl: 'http://gpu:8000' })!;
  const look = statusBarLook('running', none);
  assert.equal(look.text, '$(book) texcite: BM25 + MiniLM');
  assert.doesNotMatch(look.tooltip, /Qwen|Reranker|gpu/);
});

test('status bar before and without a server', () => {
  assert.equal(statusBarLook('starting', undefined).text, '$(sync~spin) texcite: starting');
  assert.equal(statusBarLook('running', undefined).text, '$(sync~spin) texcite: starting');
  assert.equal(statusBarLook('not-installed', status()).background, 'statusBarItem.errorBackground');
  assert.match(statusBarLook('stopped', undefined).text, /stopped/);
});

test('status lines: ranking, reranker, message, entries, latency', () => {
  assert.deepEqual(statusLines(status()), [
    'Ranking: BM25 + MiniLM',
    'Indexed entries: 120 from 1 .bib file',
    'Last ranking: 42 ms',
  ]);
  assert.deepEqual(statusLines(qwen({ reranker: 'idle', rerankerBackend: 'vllm', rerankerUrl: '' })).slice(1, 2), [
    'Reranker: Qwen/Qwen3-Reranker-4B via vllm (loads on first use)',
  ]);
  const empty = bm25({ bibFiles: [], indexedEntries: 0, lastLatencyMs: null, message: 'no .bib files' });
  assert.deepEqual(statusLines(empty), ['Ranking: BM25', 'no .bib files', 'Indexed entries: 0 from 0 .bib files']);
});

test('the tooltip lists the .bib files, a long list cut short', () => {
  assert.deepEqual(tooltipLines(status()).slice(-1), ['  /w/refs.bib']);
  const many = status({ bibFiles: Array.from({ length: 11 }, (_, i) => `/w/${i}.bib`) });
  const lines = tooltipLines(many);
  assert.equal(lines.filter((l) => l.startsWith('  /w/')).length, 8);
  assert.equal(lines[lines.length - 1], '  … and 3 more');
});

test('short model names for the status bar', () => {
  assert.equal(shortModelName('Qwen/Qwen3-Reranker-4B'), 'Qwen3');
  assert.equal(shortModelName('Qwen3-Reranker-0.6B'), 'Qwen3');
  assert.equal(shortModelName('/models/bge-reranker-v2-m3/'), 'bge');
  assert.equal(shortModelName('mixedbread-ai/mxbai-rerank-large-v1'), 'mxbai');
  assert.equal(shortModelName('reranker-base'), 'reranker-base');
  assert.equal(shortModelName(''), 'reranker');
  assert.equal(shortModelName('a-very-long-model-name-without-the-word'), 'a-very-long-model-name-…');
});

test('status payloads are checked and completed with neutral values', () => {
  assert.deepEqual(toServerStatus(qwen()), qwen());
  assert.equal(toServerStatus(null), undefined);
  assert.equal(toServerStatus([]), undefined);
  assert.equal(toServerStatus({ ranking: 'BM25' }), undefined);
  assert.deepEqual(
    toServerStatus({
      recall: 'weird', dense: 'maybe', denseModel: 'MiniLM', reranker: 'ready', rerankerModel: 'Qwen3', denseLoading: 'x',
      embedded: 5, toEmbed: -1, indexedEntries: 'many', bibFiles: ['a.bib', 3], lastLatencyMs: 'x',
    }),
    {
      dense: 'off',
      denseModel: '',
      reranker: 'off',
      rerankerBackend: '',
      rerankerModel: '',
      rerankerUrl: '',
      ranking: '',
      recall: 'bm25',
      denseLoading: '',
      embedded: 0,
      toEmbed: 0,
      message: '',
      indexedEntries: 0,
      bibFiles: ['a.bib'],
      lastLatencyMs: null,
      adapting: 0,
    },
  );
  // counts are kept while embedding, and only non-negative whole numbers
  const embedding = toServerStatus({ recall: 'bm25', dense: 'on', denseLoading: 'embedding', embedded: 2.5, toEmbed: Infinity })!;
  assert.deepEqual([embedding.embedded, embedding.toEmbed], [2, 0]);
  assert.equal(bar(embedding), '$(sync~spin) texcite: BM25 (loading the dense model)');
});
