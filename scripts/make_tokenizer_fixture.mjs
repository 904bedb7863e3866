// Builds tests/data/fixtures/tokenizer_reference.json: varied texts with the token ids that
// independent reference implementations give for them. tests/data/test_tokenizer_reference.cpp
// checks merino's tokenizer against it.
//
// References (exact npm versions; the fixture records them too):
//   gpt2 ids: tiktoken@1.0.22         OpenAI's tiktoken Rust core compiled to WASM, encoding "gpt2"
//   neox ids: tokenizers@0.23.2       Hugging Face tokenizers (Rust) through its Node binding, loading
//                                      shared/data/tokenizers/neox-20b/tokenizer.json
//   cross-checks, reported in the fixture but not used as the expected ids:
//             tokenizers@0.23.2 built from shared/data/tokenizers/gpt2/{encoder.json,vocab.bpe},
//             gpt-tokenizer@4.0.0 (r50k_base, pure JS), gpt-3-encoder@1.1.4 (JS port of encoder.py).
//
// To rerun (needs the npm registry; installs outside the repository):
//   mkdir -p /tmp/tokref && cd /tmp/tokref && npm init -y >/dev/null &&
//     npm install tiktoken@1.0.22 tokenizers@0.23.2 gpt-tokenizer@4.0.0 gpt-3-encoder@1.1.4
//   cd <repo root> && TOKREF_DIR=/tmp/tokref node scripts/make_tokenizer_fixture.mjs
// Optional: SHARED_DATA_DIR (default ../shared/data), OUT (default
// tests/data/fixtures/tokenizer_reference.json). Output is deterministic (seeded PRNG).

import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const TOKREF_DIR = process.env.TOKREF_DIR ?? '/tmp/tokref';
const SHARED = process.env.SHARED_DATA_DIR ?? path.resolve('..', 'shared', 'data');
const OUT = process.env.OUT ?? path.join('tests', 'data', 'fixtures', 'tokenizer_reference.json');
const require = createRequire(path.join(path.resolve(TOKREF_DIR), 'package.json'));

const tiktoken = require('tiktoken');
const hf = require('tokenizers');
const gptTokenizerR50k = require('gpt-tokenizer/encoding/r50k_base');
const gpt3Encoder = require('gpt-3-encoder');
// Read package.json from disk: some packages do not export it.
const versionOf = (name) =>
  JSON.parse(fs.readFileSync(path.join(path.resolve(TOKREF_DIR), 'node_modules', name, 'package.json'), 'utf8')).version;

// ---------------------------------------------------------------------------------------------
// Texts. Hand-written cases first, then seeded random mixes, then real WikiText-2 and PTB lines.

const handwritten = [
  // plain English and casing
  ['hello', 'Hello, world!'], ['lower', 'hello world'], ['sentence', 'The quick brown fox jumps over the lazy dog.'],
  ['upper', 'THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG'], ['single letter', 'a'], ['single upper', 'A'],
  ['empty', ''], ['one space', ' '], ['two spaces', '  '], ['newline', '\n'], ['two newlines', '\n\n'],
  ['tab', '\t'], ['leading space word', ' Hello'], ['two leading spaces', '  Hello world'],
  ['trailing space', 'Hello world '], ['trailing spaces', 'trailing spaces   '],
  ['letters spaced', 'x y z'], ['mixed case', 'iPhone eBay McDonald MacBook NASA-led'],
  // contractions, incl. uppercase ones that GPT-2's case-sensitive pattern does not split
  ['contractions lower', "it's I'm you're we've she'll he'd don't"],
  ['contractions upper', "IT'S I'M YOU'RE WE'VE SHE'LL HE'D DON'T"],
  ['contraction upper S', "JOHN'S car and Mary'S"], ['contraction mixed', "It'S We'Ve They'LL"],
  ['bare contractions', "'s 't 're 've 'm 'll 'd"], ['run of contractions', "'s's's'll've"],
  ['contractions no space', "'S'T'RE'VE'M'LL'D"], ['cannot', "can't won't shouldn't y'all"],
  ['rock n roll', "rock 'n' roll 'tis '90s"], ['possessive', "the dog's bone's marrow; O'Neill's"],
  ['double quotes apostrophes', "''quoted'' and '''triple'''"], ['curly apostrophe', 'it\u2019s what we\u2019ve got'],
  ['french elision', "l'été d'Italie qu'il"], ['apostrophe digits', "'123 '99 x'y"],
  // numbers
  ['integer', '123'], ['long integer', '1234567890123456789'], ['pi', '3.14159265358979'],
  ['thousands', '1,000,000 and 1.000.000'], ['negative', '-42 +7 -0.5'], ['phone', '+1 (555) 123-4567'],
  ['iso date', '2024-01-15T12:34:56Z'], ['hex', '0x1F4A9 0xDEADBEEF'], ['scientific', '1e-10 6.022e23'],
  ['percent money', '99.9% of $1,234.56 or \u20ac7,50'], ['version', 'v1.2.3-rc4 build 20240101'],
  ['vulgar fractions', '\u00bd \u00be \u00b2 \u00b3 \u2167 \u2177'], ['arabic-indic digits', '\u0661\u0662\u0663\u0664\u0665 \u0666\u0667\u0668\u0669\u0660'],
  ['devanagari digits', '\u0966\u0967\u0968\u0969\u096a\u096b\u096c\u096d\u096e\u096f'],
  ['fullwidth digits', '\uff11\uff12\uff13\uff14\uff15'], ['math digits', '\u{1d7d8}\u{1d7d9}\u{1d7da}'],
  ['thai digits', '\u0e51\u0e52\u0e53'], ['year words', 'the years 1999 and 2000, 2k24'],
  // whitespace
  ['tab between', 'a\tb'], ['two tabs', 'a\t\tb'], ['tab indent', '\t\tindented line'],
  ['lf lines', 'line1\nline2'], ['crlf lines', 'line1\r\nline2\r\n'], ['cr only', 'old\rmac\r'],
  ['leading spaces', '   leading spaces'], ['double space', 'a  b'], ['triple space', 'a   b'],
  ['quad space', 'a    b'], ['six spaces', 'a      b'], ['space newline space', ' \n \n '],
  ['newlines then x', '\n\n\nx'], ['x then newlines', 'x\n\n\n'], ['mixed ws before x', '   \t\n  x'],
  ['vt ff', 'a\u000bb\u000cc'], ['nbsp', 'a\u00a0b'], ['em space', 'a\u2003b'],
  ['ideographic space', 'a\u3000b'], ['line para separators', 'a\u2028b\u2029c'],
  ['next line u0085', 'a\u0085b'], ['space then u0085', ' \u0085x'], ['zero width space', 'a\u200bb'],
  ['bom inside', 'a\ufeffb'], ['info separators', 'a\u001c\u001d\u001e\u001fb'],
  ['ws mix', 'mixed \t \n \r\n spaces'], ['30 spaces x', ' '.repeat(30) + 'x'], ['x 25 spaces', 'x' + ' '.repeat(25)],
  ['ten newlines', '\n'.repeat(10)], ['tab space alternating', '\t \t \t'], ['nbsp run', 'a \u00a0 \u00a0b'],
  ['only spaces 200', ' '.repeat(200)], ['spaces before punct', 'wait   ...   what  ?!'],
  // code
  ['cpp', '#include <vector>\nint main() {\n    std::vector<int> v{1, 2, 3};\n    for (auto& x : v) x *= 2;\n    return 0;\n}\n'],
  ['python', 'def f(x):\n    """Doc string."""\n    if x > 0:\n        return x ** 2\n    return -x\n\nprint(f(3))\n'],
  ['json', '{"name": "merino", "ids": [1, 2, 3], "ok": true, "nested": {"k": null}}'],
  ['html', '<html><body><p class="x">Hi &amp; bye</p></body></html>'],
  ['shell', 'for f in *.txt; do echo "$f" | tr a-z A-Z >> out.log 2>&1; done'],
  ['regex', "re.compile(r\"'s|'t| ?\\p{L}+|\\s+(?!\\S)\")"], ['sql', 'SELECT id, name FROM users WHERE age >= 18 ORDER BY name;'],
  ['makefile', 'all: main.o\n\t$(CC) -o app main.o\n\nclean:\n\trm -f *.o app\n'],
  ['markdown table', '| col A | col B |\n|-------|------:|\n| 1     |  2.50 |\n'],
  ['identifiers', 'snake_case_name CamelCaseName kebab-case-name __dunder__ $jq @decorator'],
  ['url', 'https://example.com/path/to?q=1&r=two#frag'], ['email', 'First.Last+tag@example.co.uk'],
  ['windows path', 'C:\\Windows\\System32\\drivers\\etc\\hosts'], ['unix path', '~/.config/merino/run-01/ckpt.bin'],
  ['hash', 'd41d8cd98f00b204e9800998ecf8427e'], ['base64', 'SGVsbG8sIHdvcmxkIQ==/+AAAA'],
  // scripts
  ['chinese', '\u6211\u7231\u81ea\u7136\u8bed\u8a00\u5904\u7406\u3002\u4eca\u5929\u5929\u6c14\u5f88\u597d\uff01'],
  ['japanese', '\u3053\u3093\u306b\u3061\u306f\u3001\u4e16\u754c\uff01\u30ab\u30bf\u30ab\u30ca\u3068\u3072\u3089\u304c\u306a\u3001\u6f22\u5b57\u3002'],
  ['korean', '\uc548\ub155\ud558\uc138\uc694 \uc138\uacc4, \ud55c\uad6d\uc5b4 \ud14c\uc2a4\ud2b8'],
  ['arabic', '\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645\u060c \u0643\u064a\u0641 \u062d\u0627\u0644\u0643\u061f'],
  ['arabic with harakat', '\u0627\u0644\u0652\u0639\u064e\u0631\u064e\u0628\u0650\u064a\u0651\u064e\u0629'],
  ['hebrew', '\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd'],
  ['hindi', '\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e, \u092f\u0939 \u090f\u0915 \u092a\u0930\u0940\u0915\u094d\u0937\u0923 \u0939\u0948\u0964'],
  ['devanagari nukta precomposed', '\u0958\u0959\u095a \u095b'], ['devanagari nukta decomposed', '\u0915\u093c\u0916\u093c\u0917\u093c'],
  ['bengali', '\u0986\u09ae\u09bf \u09ac\u09be\u0982\u09b2\u09be\u09af\u09bc \u0997\u09be\u09a8 \u0997\u09be\u0987'],
  ['tamil', '\u0bb5\u0ba3\u0b95\u0bcd\u0b95\u0bae\u0bcd \u0b89\u0bb2\u0b95\u0bae\u0bcd'],
  ['thai', '\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35\u0e0a\u0e32\u0e27\u0e42\u0e25\u0e01'],
  ['russian', '\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440! \u041a\u0430\u043a \u0434\u0435\u043b\u0430?'],
  ['ukrainian', '\u0490\u0430\u043d\u043e\u043a, \u0457\u0436\u0430\u043a \u0456 \u0454\u043d\u043e\u0442'],
  ['greek', '\u0393\u03b5\u03b9\u03ac \u03c3\u03bf\u03c5 \u039a\u03cc\u03c3\u03bc\u03b5'],
  ['armenian', '\u0532\u0561\u0580\u0587 \u0561\u0577\u056d\u0561\u0580\u0570'],
  ['georgian', '\u10d2\u10d0\u10db\u10d0\u10e0\u10ef\u10dd\u10d1\u10d0'], ['amharic', '\u1230\u120b\u121d \u12d3\u1208\u121d'],
  ['vietnamese', 'Ti\u1ebfng Vi\u1ec7t c\u00f3 d\u1ea5u'], ['turkish', '\u0130stanbul \u0131\u011fd\u0131r \u015fe\u011fer'],
  ['german', 'Gr\u00f6\u00dfe Stra\u00dfe \u00c4rger \u00fcber'], ['french', '\u00c7a va? Tr\u00e8s bien, merci!'],
  ['polish', 'Za\u017c\u00f3\u0142\u0107 g\u0119\u015bl\u0105 ja\u017a\u0144'], ['mixed scripts', 'English \u4e2d\u6587 \u0420\u0443\u0441\u0441\u043a\u0438\u0439 \u0639\u0631\u0628\u064a 123'],
  // combining marks and normalisation-sensitive text
  ['e acute decomposed', 'caf\u0065\u0301 re\u0301sume\u0301'], ['e acute precomposed', 'caf\u00e9 r\u00e9sum\u00e9'],
  ['a ring decomposed', 'A\u030angstr\u00f6m'], ['angstrom sign', '\u212b and ohm \u2126'],
  ['ligature fi', '\ufb01nance \ufb02ow'], ['hangul jamo', '\u1100\u1161\u11a8 \u1112\u1161\u11ab'],
  ['zalgo', 'Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319\u0324\u031e\u0349\u035a\u032f\u031e\u0320\u034dA\u036b\u0357\u0334\u0362\u0335\u031c\u0330\u0354L\u0368\u0367\u0369\u0358\u0320G\u0311\u0357\u030e\u0305\u035b\u0341\u0334\u033b\u0348\u034d\u0354\u0339O\u0342\u030c\u030c\u0358\u0328\u0335\u0339\u033b\u031d\u0333'],
  ['combining only', '\u0301\u0302\u0303'], ['dotless i combining', 'i\u0307 \u0131\u0307'],
  // emoji
  ['emoji', '\u{1f600}'], ['emoji in text', 'Hello \u{1f600} world'], ['skin tone', '\u{1f44d}\u{1f3fd}'],
  ['family zwj', '\u{1f468}\u200d\u{1f469}\u200d\u{1f467}\u200d\u{1f466}'],
  ['rainbow flag', '\u{1f3f3}\ufe0f\u200d\u{1f308}'], ['flags', '\u{1f1ef}\u{1f1f5}\u{1f1fa}\u{1f1f8}'],
  ['keycaps', '1\ufe0f\u20e3 #\ufe0f\u20e3'], ['heart vs16', '\u2764\ufe0f'],
  ['technologist', '\u{1f9d1}\u{1f3ff}\u200d\u{1f4bb}'], ['emoji run', '\u{1f600}\u{1f600}\u{1f600}\u{1f600}'],
  ['emoji at end', 'party\u{1f389}'], ['emoji at start', '\u{1f389}start'], ['emoji spaced', ' \u{1f525} \u{1f525}  \u{1f525}'],
  // punctuation and symbols
  ['bangs', '!!!'], ['interrobang', '?!?!'], ['ellipsis', '... \u2026'], ['dashes', '\u2014\u2013- -- ---'],
  ['quotes', '\u00abquotes\u00bb \u201eGerman\u201c \u201ccurly\u201d \u2018single\u2019'], ['marks', '\u00a9\u00ae\u2122'],
  ['arrows', '\u2192 \u2190 \u2191 \u2193 \u21d2'], ['math', '\u2200x\u2208\u211d: x\u00b2\u22650'],
  ['mentions', '@user #hashtag $TICKER'], ['underscores', '____'], ['stars', '****'], ['equals', '====='],
  ['dash rule', '-----'], ['hashes', '#####'], ['brackets', '([{<>}])'], ['punct before word', '...and (so) on'],
  // control characters
  ['nul', '\u0000'], ['nul inside', 'a\u0000b'], ['c0 controls', '\u0001\u0002\u0003\u007f'],
  ['c1 controls', '\u0080\u0081\u009f'], ['escape seq', '\u001b[31mred\u001b[0m'],
  // long pieces
  ['a x1000', 'a'.repeat(1000)], ['ab x300', 'ab'.repeat(300)], ['ones x200', '1'.repeat(200)],
  ['long word 1', 'Supercalifragilisticexpialidocious'], ['long word 2', 'pneumonoultramicroscopicsilicovolcanoconiosis'],
  ['long word 3', 'antidisestablishmentarianism'], ['dots x100', '.'.repeat(100)],
  ['cjk x300', '\u6f22'.repeat(300)], ['emoji x50', '\u{1f600}'.repeat(50)],
  // special-token-like text
  ['eot alone', '<|endoftext|>'], ['eot between', 'Hello<|endoftext|>World'], ['eot twice', '<|endoftext|><|endoftext|>'],
  ['eot spaced', ' <|endoftext|> '], ['eot truncated', '<|endoftext|'], ['padding token', 'x<|padding|>y'],
  ['eot doc break', 'end of doc.\n<|endoftext|>\n\nNew doc starts'], ['eot in word', 'abc<|endoftext|>def<|endof'],
];

// mulberry32: small, seedable, reproducible across Node versions.
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pools = [
  'abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', '0123456789', '      ', '\t\n\r\n',
  ".,;:!?'\"()[]{}-_/\\@#$%^&*+=<>|~`", '\u00e9\u00e8\u00fc\u00f1\u00e7\u00df\u00f8\u00e5',
  '\u4e00\u4e8c\u4e09\u4eba\u5927\u5c0f\u4e2d\u56fd', '\u0627\u0644\u0645\u0631\u062d\u0628',
  '\u0915\u0916\u0917\u093e\u093f\u094d\u0902', '\u0430\u0431\u0432\u0433\u0434\u0416\u042f',
  '\u0301\u0308\u0327', '\u00a0\u2003\u3000\u0085\u2028', '\u200b\u200d\ufeff',
];
const emojiPool = ['\u{1f600}', '\u{1f44d}\u{1f3fb}', '\u{1f468}\u200d\u{1f4bb}', '\u{1f1e9}\u{1f1ea}', '\u2764\ufe0f', '\u{1f680}'];
const wordPool = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL", ' the', ' of', 'and', ' 1999', '<|endoftext|>'];

function randomText(rand) {
  const parts = [];
  const n = 1 + Math.floor(rand() * 40);
  for (let i = 0; i < n; i++) {
    const r = rand();
    if (r < 0.1) parts.push(emojiPool[Math.floor(rand() * emojiPool.length)]);
    else if (r < 0.2) parts.push(wordPool[Math.floor(rand() * wordPool.length)]);
    else {
      const pool = Array.from(pools[Math.floor(rand() * pools.length)]);
      const len = 1 + Math.floor(rand() * 6);
      for (let k = 0; k < len; k++) parts.push(pool[Math.floor(rand() * pool.length)]);
    }
  }
  return parts.join('');
}

function sampleLines(file, count, rand, { chunk = 1 } = {}) {
  const lines = fs.readFileSync(file, 'utf8').split('\n').map((l) => l + '\n');
  const picked = [];
  const seen = new Set();
  while (picked.length < count) {
    const i = Math.floor(rand() * (lines.length - chunk));
    if (seen.has(i)) continue;
    const text = lines.slice(i, i + chunk).join('');
    if (chunk === 1 && text.trim() === '') continue;
    seen.add(i);
    picked.push([i + 1, text]);
  }
  return picked;
}

const texts = handwritten.map(([name, text]) => ({ name, text }));
const rand = prng(20240601);
for (let i = 0; i < 60; i++) texts.push({ name: `random mix ${i}`, text: randomText(rand) });
const wikiFile = path.join(SHARED, 'wikitext-2-raw', 'wiki.test.raw');
for (const [line, text] of sampleLines(wikiFile, 40, rand)) texts.push({ name: `wiki.test.raw line ${line}`, text });
for (const [line, text] of sampleLines(wikiFile, 8, rand, { chunk: 6 })) texts.push({ name: `wiki.test.raw lines ${line}-${line + 5}`, text });
const ptbFile = path.join(SHARED, 'ptb', 'ptb.test.txt');
for (const [line, text] of sampleLines(ptbFile, 20, rand)) texts.push({ name: `ptb.test.txt line ${line}`, text });

// ---------------------------------------------------------------------------------------------
// References.

const SPECIALS = ['<|endoftext|>', '<|padding|>'];
const hasSpecial = (t) => SPECIALS.some((s) => t.includes(s));

const tk = tiktoken.get_encoding('gpt2');
const tiktokenIds = (text, allow) => Array.from(allow ? tk.encode(text, 'all', []) : tk.encode_ordinary(text));

// HF tokenizer.json with the added tokens filtered: HF always splits added tokens, so "allow_special
// = false" is modelled by dropping the special ones (the non-special space runs stay, as in HF).
const neoxJson = JSON.parse(fs.readFileSync(path.join(SHARED, 'tokenizers', 'neox-20b', 'tokenizer.json'), 'utf8'));
const neoxAllow = hf.Tokenizer.fromString(JSON.stringify(neoxJson));
const neoxPlain = hf.Tokenizer.fromString(JSON.stringify({ ...neoxJson, added_tokens: neoxJson.added_tokens.filter((t) => !t.special) }));

const gpt2Vocab = JSON.parse(fs.readFileSync(path.join(SHARED, 'tokenizers', 'gpt2', 'encoder.json'), 'utf8'));
const gpt2Merges = fs.readFileSync(path.join(SHARED, 'tokenizers', 'gpt2', 'vocab.bpe'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#version'));
const hfGpt2Json = (allow) => JSON.stringify({
  version: '1.0', truncation: null, padding: null, normalizer: null, post_processor: null,
  added_tokens: allow ? [{ id: 50256, content: '<|endoftext|>', special: true, single_word: false, lstrip: false, rstrip: false, normalized: false }] : [],
  pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
  decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
  model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, vocab: gpt2Vocab, merges: gpt2Merges },
});
const hfGpt2 = { true: hf.Tokenizer.fromString(hfGpt2Json(true)), false: hf.Tokenizer.fromString(hfGpt2Json(false)) };

const hfIds = async (tok, text) => (await tok.encode(text, null, { addSpecialTokens: false })).getIds();
const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

const cases = [];
const crossChecks = { hf_tokenizers_gpt2_files: [], gpt_tokenizer_r50k_base: [], gpt_3_encoder: [] };
const compared = { hf_tokenizers_gpt2_files: 0, gpt_tokenizer_r50k_base: 0, gpt_3_encoder: 0 };
const note = (which, index, ok) => { compared[which]++; if (!ok) crossChecks[which].push(index); };

for (const { name, text } of texts) {
  for (const allow of hasSpecial(text) ? [false, true] : [false]) {
    const index = cases.length;
    const gpt2 = tiktokenIds(text, allow);
    const neox = await hfIds(allow ? neoxAllow : neoxPlain, text);
    note('hf_tokenizers_gpt2_files', index, same(gpt2, await hfIds(hfGpt2[allow], text)));
    // The JS libraries are compared on plain text only: gpt-3-encoder has no special tokens and
    // gpt-tokenizer 4.0.0's r50k_base does not turn <|endoftext|> into 50256 even when allowed.
    if (!allow) {
      note('gpt_tokenizer_r50k_base', index, same(gpt2, gptTokenizerR50k.encode(text, { disallowedSpecial: new Set() })));
      note('gpt_3_encoder', index, same(gpt2, gpt3Encoder.encode(text)));
    }
    cases.push({ name, allow_special: allow, text, gpt2, neox });
  }
}

const summary = Object.fromEntries(Object.keys(compared).map((k) => [k, { compared: compared[k], disagree_case_indices: crossChecks[k] }]));
const header = {
  about: 'Token ids from independent reference tokenizers; see scripts/make_tokenizer_fixture.mjs.',
  generator: 'scripts/make_tokenizer_fixture.mjs',
  gpt2_reference: `tiktoken@${versionOf('tiktoken')} (npm; OpenAI tiktoken Rust core as WASM), encoding "gpt2"`,
  neox_reference: `tokenizers@${versionOf('tokenizers')} (npm; Hugging Face tokenizers Rust library), neox-20b/tokenizer.json; allow_special=false drops the special added tokens`,
  cross_checks: {
    versions: { tokenizers: versionOf('tokenizers'), 'gpt-tokenizer': versionOf('gpt-tokenizer'), 'gpt-3-encoder': versionOf('gpt-3-encoder') },
    ...summary,
  },
  case_count: cases.length,
};

// One case per line keeps diffs readable.
const body = cases.map((c) => '  ' + JSON.stringify(c)).join(',\n');
// (A replacer function, not a string: "$$" in a replacement string would collapse to "$".)
const json = JSON.stringify(header, null, 1).replace(/\n}$/, () => `,\n "cases": [\n${body}\n ]\n}\n`);
const reparsed = JSON.parse(json);
if (reparsed.cases.some((c, i) => c.text !== cases[i].text)) throw new Error('fixture texts did not survive JSON writing');
fs.mkdirSync(path.dirname(OUT), { recursive: true });
fs.writeFileSync(OUT, json);
console.log(`wrote ${OUT}: ${cases.length} cases from ${texts.length} texts`);
for (const [k, v] of Object.entries(summary)) {
  console.log(`  ${k}: ${v.compared - v.disagree_case_indices.length}/${v.compared} agree with tiktoken` +
    (v.disagree_case_indices.length ? ` (differ: ${v.disagree_case_indices.map((i) => JSON.stringify(cases[i].name)).join(', ')})` : ''));
}
