// Values the catalogues do not know (a newer server's status, role, type or class) are shown
// through a catalogue message, never as a bare key.

import { afterAll, describe, expect, it } from 'vitest';

import { setLang } from '../i18n';
import { roleLabel } from './app';
import { statusLabel } from './common';
import { classLabel, inspectionTypeLabel } from './inspection';
import { typeLabel } from './mywork';

afterAll(() => setLang('en'));

describe('labels of unknown values', () => {
  it('known values have their own text; unknown ones a catalogue fallback', () => {
    setLang('zh-CN');
    expect(statusLabel('approved')).toBe('已批准');
    expect(statusLabel('archived')).toBe('其他状态（archived）');
    expect(roleLabel('auditor')).toBe('其他角色（auditor）');
    expect(typeLabel('invoice')).toBe('其他记录（invoice）');
    expect(inspectionTypeLabel('during_production')).toBe('其他类型（during_production）');
    expect(classLabel('cosmetic')).toBe('其他类别（cosmetic）');
    setLang('en');
    expect(statusLabel('archived')).toBe('Other status (archived)');
    expect(classLabel('major')).toBe('Major');
  });
});
