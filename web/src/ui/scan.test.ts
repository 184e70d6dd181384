import { describe, expect, it } from 'vitest';

import { setLang, t } from '../i18n';
import { cameraErrorKey } from './scan';

describe('camera errors', () => {
  it('are named from the catalogue by the DOMException getUserMedia rejects with', () => {
    expect(cameraErrorKey({ name: 'NotAllowedError' })).toBe('scan.camera_denied');
    expect(cameraErrorKey({ name: 'SecurityError' })).toBe('scan.camera_denied');
    expect(cameraErrorKey({ name: 'NotFoundError' })).toBe('scan.camera_none');
    expect(cameraErrorKey({ name: 'NotReadableError' })).toBe('scan.camera_error');
    expect(cameraErrorKey(new TypeError('no mediaDevices'))).toBe('scan.camera_error');
    expect(cameraErrorKey(null)).toBe('scan.camera_error');
    setLang('zh-CN');
    expect(t(cameraErrorKey({ name: 'NotFoundError' }))).toBe('本设备上没有找到相机。');
    setLang('en');
  });
});
