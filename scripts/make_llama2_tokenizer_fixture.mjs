// Builds tests/data/fixtures/tokenizer_llama2_reference.json: varied texts with the ids that
// Hugging Face tokenizers gives for them with the LLaMA-2 tokenizer.json (BPE with byte
// fallback, Prepend/Replace "▁" normalizer), add_special_tokens = false. Made the way
// scripts/make_tokenizer_fixture.mjs makes the GPT-2 one; tests/data/test_tokenizer_llama2.cpp
// checks merino's tokenizer against it.
//
// Reference: tokenizers@0.23.2 (npm; HF tokenizers' Rust core through its Node binding).
// Cross-check, counted in the fixture: @lenml/tokenizers (a JavaScript port of HF tokenizers).
//
// To rerun (needs the npm registry; installs outside the repository):
//   mkdir -p /tmp/tokref_llama && cd /tmp/tokref_llama && npm init -y >/dev/null &&
//     npm install tokenizers@0.23.2 @lenml/tokenizers@3.7.2
//   cd <repo root> && TOKREF_DIR=/tmp/tokref_llama SHARED_DATA_DIR=/work/shared/data \
//     node scripts/make_llama2_tokenizer_fixture.mjs
// Output is deterministic (seeded PRNG).

import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const TOKREF_DIR = process.env.TOKREF_DIR ?? '/tmp/tokref_llama';
const SHARED = process.env.SHARED_DATA_DIR ?? path.resolve('..', 'shared', 'data');
const OUT = process.env.OUT ?? path.join('tests', 'data', 'fixtures', 'tokenizer_llama2_reference.json');
const require = createRequire(path.join(path.resolve(TOKREF_DIR), 'package.json'));
const hf = require('tokenizers');
const versionOf = (name) =>
  JSON.parse(fs.readFileSync(path.join(path.resolve(TOKREF_DIR), 'node_modules', name, 'package.json'), 'utf8')).version;

const handwritten = [
  ['hello', 'Hello, world!'], ['sentence', 'The quick brown fox jumps over the lazy dog.'],
  ['empty', ''], ['one space', ' '], ['two spaces', '  '], ['newline', '\n'], ['tab', '\t'],
  ['leading space', ' Hello'], ['two leading spaces', '  Hello world'], ['trailing spaces', 'end   '],
  ['double space', 'a  b'], ['six spaces', 'a      b'], ['crlf', 'line1\r\nline2\r\n'],
  ['mixed whitespace', 'mixed \t \n \r\n spaces'], ['nbsp', 'a\u00a0b'], ['em space', 'a\u2003b'],
  ['ideographic space', 'a\u3000b'], ['zero width space', 'a\u200bb'], ['line separator', 'a\u2028b'],
  ['vt ff', 'a\u000bb\u000cc'], ['nul and controls', 'a\u0000b\u0001c\u007f'],
  ['only spaces 50', ' '.repeat(50)], ['ten newlines', '\n'.repeat(10)],
  ['contractions', "it's I'm you're we've she'll don't"], ['numbers', '3.14159 1,000,000 -42 2024-01-15'],
  ['code', 'int main() {\n    return 0;\n}\n'], ['json', '{"a": [1, 2.5, null], "b": "x"}'],
  ['url', 'https://example.com/path?q=1&r=two#frag'],
  ['emoji', '\u{1F600}\u{1F680} party \u{1F389}'], ['emoji zwj', '\u{1F468}\u200d\u{1F469}\u200d\u{1F467}'],
  ['flags', '\u{1F1FA}\u{1F1F8}\u{1F1EF}\u{1F1F5}'], ['skin tone', '\u{1F44D}\u{1F3FD}'],
  ['cjk chinese', '你好，世界。我们今天学习分词。'], ['cjk japanese', 'こんにちは、カタカナとひらがな。'],
  ['korean', '안녕하세요 세계'], ['rare cjk', '\u9f98\u9750\u{20000}\u{2A6D6}'],
  ['arabic', 'مرحبا بالعالم'], ['hebrew', 'שלום עולם'], ['hindi', 'नमस्ते दुनिया'], ['thai', 'สวัสดีชาวโลก'],
  ['greek cyrillic', 'Ελληνικά и русский текст'], ['accents', 'café naïve résumé Ångström'],
  ['combining', 'e\u0301 a\u0308 n\u0303'], ['math', '∀x∈ℝ: x² ≥ 0 ∑∫√∞'],
  ['box drawing', '┌─┐│└┘'], ['private use', '\ue000\uf8ff'], ['replacement char', '\ufffd'],
  ['bom', '\ufeffstart'], ['ancient scripts', '\u{10300}\u{10301}\u{1D11E}'],
  ['special text', '<s> and </s> and <unk> as text'], ['underscore', 'snake_case_name __init__'],
  ['sentencepiece mark', '▁already▁marked ▁'], ['byte token text', '<0x0A> <0xFF>'],
  ['long word', 'Pneumonoultramicroscopicsilicovolcanoconiosis'],
  ['repeated', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'], ['punctuation run', '!!!???...---***'],
];

// seeded mixes of characters from many scripts, whitespace and emoji (mulberry32)
let seed = 12345;
const rand = () => {
  seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const alphabet = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:!?\'"()-_\n\t  ',
  ...'éüßçñøåæœ你好世界中文日本語한국어абвгдеαβγδ', '\u00a0', '\u3000', '\u{1F600}', '\u{1F9E0}', '\u{1F4A9}',
  '\u{10348}', '\u0000', '\u001b', '\ufeff', '\u200d'];
const mixes = [];
for (let i = 0; i < 120; ++i) {
  const n = 1 + Math.floor(rand() * 60);
  let s = '';
  for (let k = 0; k < n; ++k) s += alphabet[Math.floor(rand() * alphabet.length)];
  mixes.push([`mix ${i}`, s]);
}

// real text: PTB and WikiText-2 lines
const lines = (file, count) => fs.readFileSync(path.join(SHARED, file), 'utf8').split('\n').filter((l) => l.length > 0).slice(0, count);
const real = [...lines('ptb/ptb.valid.txt', 40).map((l, i) => [`ptb ${i}`, l]),
  ...lines('wikitext-2-raw/wiki.valid.raw', 60).map((l, i) => [`wikitext ${i}`, l])];

const tokenizerFile = path.join(SHARED, 'tokenizers', 'llama2', 'tokenizer.json');
const ref = hf.Tokenizer.fromFile(tokenizerFile);
const cases = [];
let lenmlCompared = 0, lenmlAgree = 0;
let lenml = null;
try {
  const { TokenizerLoader } = await import(path.join(path.resolve(TOKREF_DIR), 'node_modules', '@lenml', 'tokenizers', 'dist', 'main.mjs'));
  lenml = TokenizerLoader.fromPreTrained({
    tokenizerJSON: JSON.parse(fs.readFileSync(tokenizerFile, 'utf8')),
    tokenizerConfig: JSON.parse(fs.readFileSync(path.join(SHARED, 'tokenizers', 'llama2', 'tokenizer_config.json'), 'utf8')),
  });
} catch (e) {
  console.error(`@lenml/tokenizers cross-check unavailable: ${e.message}`);
}
for (const [name, text] of [...handwritten, ...mixes, ...real]) {
  const ids = (await ref.encode(text, null, { addSpecialTokens: false })).getIds();
  cases.push({ name, text, ids: Array.from(ids) });
  if (lenml) {
    ++lenmlCompared;
    const other = lenml.encode(text, { add_special_tokens: false });
    if (JSON.stringify(Array.from(other)) === JSON.stringify(Array.from(ids))) ++lenmlAgree;
  }
}
const out = {
  about: 'LLaMA-2 token ids (add_special_tokens = false) from Hugging Face tokenizers; see scripts/make_llama2_tokenizer_fixture.mjs.',
  reference: `tokenizers@${versionOf('tokenizers')} (npm; HF tokenizers Rust core), shared/data/tokenizers/llama2/tokenizer.json`,
  cross_check: lenml ? { package: `@lenml/tokenizers@${versionOf('@lenml/tokenizers')}`, compared: lenmlCompared, agree: lenmlAgree } : null,
  cases,
};
fs.writeFileSync(OUT, JSON.stringify(out, null, 1) + '\n');
console.log(`${OUT}: ${cases.length} cases` + (lenml ? `, @lenml agrees on ${lenmlAgree}/${lenmlCompared}` : ''));
