import t from 'tap';
import { en } from '../../console/src/messages-en.js';
import { ja } from '../../console/src/messages-ja.js';

/**
 * Every console string in both languages (issue 20): the two dictionaries have the same keys
 * and no empty value, and the placeholders a sentence fills ({ref}, {phase}...) are the same in
 * both, so a translation cannot drop the reference number it was meant to show.
 */
const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

t.test('the same keys in Japanese and English', async (t) => {
  t.same(Object.keys(ja).sort(), Object.keys(en).sort());
  t.ok(Object.keys(en).length > 100, 'the dictionaries are not empty');
});

t.test('no empty or untranslated-looking value', async (t) => {
  for (const [language, dictionary] of [
    ['en', en],
    ['ja', ja],
  ] as const) {
    for (const [key, value] of Object.entries(dictionary)) {
      if (typeof value !== 'string' || value.trim() === '') t.fail(`${language} ${key} is empty`);
    }
  }
  // Japanese strings are Japanese: a copy of the English would pass the key check above.
  const copied = Object.keys(en).filter(
    (k) => ja[k as keyof typeof en] === en[k as keyof typeof en] && /[a-z]{4,}/.test(en[k as keyof typeof en]),
  );
  t.same(copied, [], 'no English sentence left in the Japanese dictionary');
});

t.test('the same placeholders in both', async (t) => {
  for (const key of Object.keys(en) as Array<keyof typeof en>) {
    t.same(placeholders(ja[key]), placeholders(en[key]), key);
  }
});
