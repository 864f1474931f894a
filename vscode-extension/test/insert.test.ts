import { test } from 'node:test';
import assert from 'node:assert/strict';
import { advance, citeEdit, needsTie, splitKeys } from '../src/insert';
import type { CiteContext, LspPosition } from '../src/protocol';

const pos = (line: number, character: number): LspPosition => ({ line, character });

/** Apply an edit to text (for checking the outcome as a person sees it). */
function apply(text: string, start: LspPosition, end: LspPosition, newText: string): string {
  const lines = text.split('\n');
  const offset = (p: LspPosition) => lines.slice(0, p.line).reduce((n, l) => n + l.length + 1, 0) + p.character;
  return text.slice(0, offset(start)) + newText + text.slice(offset(end));
}

/** The cite context for the first `{...}` after `\cite` in a one-line or multi-line text. */
function citeIn(text: string): { cite: CiteContext; listText: string } {
  const open = text.indexOf('{', text.indexOf('\\cite')) + 1;
  const close = text.indexOf('}', open);
  const listText = text.slice(open, close);
  const start = advance(pos(0, 0), text.slice(0, open));
  const end = advance(pos(0, 0), text.slice(0, close));
  return { cite: { keys: splitKeys(listText), range: { start, end } }, listText };
}

function run(text: string, key: string): string {
  const { cite, listText } = citeIn(text);
  const r = citeEdit(key, cite, listText, pos(0, 0));
  assert.equal(r.kind, 'edit');
  if (r.kind !== 'edit') return text;
  return apply(text, r.edit.range.start, r.edit.range.end, r.edit.newText);
}

test('no citation command: insert \\cite{key} at the cursor', () => {
  const r = citeEdit('vaswani2017', null, '', pos(3, 14));
  assert.deepEqual(r, {
    kind: 'edit',
    edit: { range: { start: pos(3, 14), end: pos(3, 14) }, newText: '\\cite{vaswani2017}' },
  });
  assert.equal(apply('as shown by .', pos(0, 12), pos(0, 12), '\\cite{k}'), 'as shown by \\cite{k}.');
});

test('a new citation after a word is tied to it with ~', () => {
  const cite = (line: string, key = 'k') => {
    const cursor = pos(0, line.length);
    const r = citeEdit(key, null, '', cursor, { before: line.slice(-1) });
    assert.equal(r.kind, 'edit');
    return r.kind === 'edit' ? apply(line, r.edit.range.start, r.edit.range.end, r.edit.newText) : line;
  };
  assert.equal(cite('Transformers are faster'), 'Transformers are faster~\\cite{k}');
  assert.equal(cite('as shown by'), 'as shown by~\\cite{k}');
  assert.equal(cite('(see'), '(see~\\cite{k}');
  assert.equal(cite('\\emph{fast}'), '\\emph{fast}~\\cite{k}');
  // no tie after blanks, an opening parenthesis, brace or bracket, a tie, or at the start of a line
  assert.equal(cite('as shown by '), 'as shown by \\cite{k}');
  assert.equal(cite('as shown by\t'), 'as shown by\t\\cite{k}');
  assert.equal(cite('results ('), 'results (\\cite{k}');
  assert.equal(cite('\\footnote{'), '\\footnote{\\cite{k}');
  assert.equal(cite('see [also '), 'see [also \\cite{k}');
  assert.equal(cite('see ['), 'see [\\cite{k}');
  assert.equal(cite('faster~'), 'faster~\\cite{k}');
  assert.equal(cite(''), '\\cite{k}');
  assert.equal(needsTie(''), false);
  assert.equal(needsTie('.'), true);
  assert.equal(needsTie('\u00a0'), false);
  // the command of a new citation can be chosen
  const r = citeEdit('k', null, '', pos(0, 3), { before: 'x', command: 'citep' });
  assert.equal(r.kind === 'edit' && r.edit.newText, '~\\citep{k}');
});

test('empty or blank key list: the key alone', () => {
  assert.equal(run('see \\cite{} for', 'k1'), 'see \\cite{k1} for');
  assert.equal(run('see \\cite{  } for', 'k1'), 'see \\cite{k1} for');
});

test('append to an existing key list', () => {
  assert.equal(run('see \\cite{a} for', 'k1'), 'see \\cite{a, k1} for');
  assert.equal(run('see \\cite{a, b} for', 'k1'), 'see \\cite{a, b, k1} for');
  assert.equal(run('see \\citep[p.~3]{a} for', 'k1'), 'see \\citep[p.~3]{a, k1} for');
});

test('trailing comma or blanks are respected', () => {
  assert.equal(run('\\cite{a,}', 'k1'), '\\cite{a, k1}');
  assert.equal(run('\\cite{a, }', 'k1'), '\\cite{a, k1 }');
  assert.equal(run('\\cite{a }', 'k1'), '\\cite{a, k1 }');
});

test('multi-line key lists', () => {
  const text = 'x \\cite{a,\n  b\n} y';
  assert.equal(run(text, 'k1'), 'x \\cite{a,\n  b, k1\n} y');
  assert.deepEqual(advance(pos(2, 5), 'ab\ncd'), pos(3, 2));
  assert.deepEqual(advance(pos(2, 5), 'ab'), pos(2, 7));
  assert.deepEqual(advance(pos(0, 0), 'a\r\nbc'), pos(1, 2));
});

test('a key that is already cited is not added again', () => {
  const { cite, listText } = citeIn('\\cite{a, k1, b}');
  assert.deepEqual(citeEdit('k1', cite, listText, pos(0, 0)), { kind: 'duplicate', key: 'k1' });
  // the server's keys count even if the text differs (e.g. after a macro expansion)
  assert.deepEqual(
    citeEdit('k2', { keys: ['k2'], range: { start: pos(0, 6), end: pos(0, 7) } }, 'z', pos(0, 0)),
    { kind: 'duplicate', key: 'k2' },
  );
  // a key that is only a prefix of a cited one is still added
  assert.equal(run('\\cite{k10}', 'k1'), '\\cite{k10, k1}');
});
