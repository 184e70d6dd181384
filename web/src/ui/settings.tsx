// Settings kept on this device (not synced): the long edge photos are scaled down to.

import { useState } from 'preact/hooks';

import { t } from '../i18n';
import {
  PHOTO_EDGE_DEFAULT_PX,
  PHOTO_EDGE_MAX_PX,
  PHOTO_EDGE_MIN_PX,
  parsePhotoEdge,
  photoEdgeSetting,
  setPhotoEdgeSetting,
} from '../photos/process';
import { toast } from './common';

export function SettingsPanel({ onClose }: { onClose: () => void }) {
  const [edge, setEdge] = useState(String(photoEdgeSetting()));
  const [error, setError] = useState(false);
  const limits = { min: PHOTO_EDGE_MIN_PX, max: PHOTO_EDGE_MAX_PX, default: PHOTO_EDGE_DEFAULT_PX };
  const save = (e: Event) => {
    e.preventDefault();
    const px = parsePhotoEdge(edge);
    if (px === null) {
      setError(true); // keep what was typed, so it can be corrected
      return;
    }
    setPhotoEdgeSetting(px);
    toast(t('settings.saved'));
    onClose();
  };
  return (
    <div class="modal-backdrop" role="dialog" aria-modal="true" data-testid="settings">
      <form class="modal" onSubmit={save} noValidate>
        <h2>{t('settings.title')}</h2>
        <label>
          {t('settings.photo_edge')}
          <input
            class="num"
            type="number"
            inputMode="numeric"
            min={PHOTO_EDGE_MIN_PX}
            max={PHOTO_EDGE_MAX_PX}
            step={1}
            value={edge}
            aria-invalid={error}
            data-testid="settings-photo-edge"
            onInput={(e) => {
              setEdge((e.currentTarget as HTMLInputElement).value);
              setError(false);
            }}
          />
        </label>
        <p class="muted small">{t('settings.photo_edge_hint', limits)}</p>
        {error && (
          <p class="error" data-testid="settings-error">
            {t('settings.photo_edge_invalid', limits)}
          </p>
        )}
        <div class="row end">
          <button type="button" class="btn" onClick={onClose} data-testid="settings-cancel">
            {t('common.cancel')}
          </button>
          <button type="submit" class="btn btn-primary" data-testid="settings-save">
            {t('settings.save')}
          </button>
        </div>
      </form>
    </div>
  );
}
