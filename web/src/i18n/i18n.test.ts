import { describe, expect, it } from 'vitest';

import { en } from './en';
import { LANGS, catalogues, defaultLang, setLang, t } from './index';
import { zhCN } from './zh-CN';

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('message catalogues', () => {
  it('zh-CN and en have exactly the same keys', () => {
    expect(Object.keys(zhCN).sort()).toEqual(Object.keys(en).sort());
  });

  it('no message is empty', () => {
    for (const lang of LANGS) {
      for (const [key, text] of Object.entries(catalogues[lang])) {
        expect(text.trim(), `${lang} ${key}`).not.toBe('');
      }
    }
  });

  it('every translation has the same placeholders', () => {
    for (const key of Object.keys(en) as Array<keyof typeof en>) {
      expect(placeholders(zhCN[key]), key).toEqual(placeholders(en[key]));
    }
  });

  it('the zh-CN catalogue is translated (not English copied over)', () => {
    const same = (Object.keys(en) as Array<keyof typeof en>).filter(
      (k) => {
        const words = en[k].replace(/\{\w+\}/g, '');
        return en[k] === zhCN[k] && /[a-z]{4,}/i.test(words) && !/^[A-Z0-9 ]+$/.test(words.trim());
      },
    );
    // Only names and codes may be the same in both.
    expect(same).toEqual([]);
  });
});

describe('t()', () => {
  it('fills placeholders in the current language', () => {
    setLang('en');
    expect(t('sync.unsynced_records', { n: 3 })).toBe('Records not synced: 3');
    setLang('zh-CN');
    expect(t('sync.unsynced_records', { n: 3 })).toBe('未同步记录：3');
    setLang('en');
  });

  it('defaults from the browser language', () => {
    globalThis.localStorage?.removeItem('gendan.lang');
    expect(defaultLang(['zh-CN', 'en'])).toBe('zh-CN');
    expect(defaultLang(['zh-TW'])).toBe('zh-CN');
    expect(defaultLang(['en-GB', 'zh-CN'])).toBe('en');
    expect(defaultLang(['de-DE'])).toBe('en');
  });
});
