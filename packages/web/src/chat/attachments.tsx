/**
 * File sharing in the UI: uploads in progress (with a progress bar each) before a message is
 * sent, and a message's attachments: raster images inline, anything else as a download card.
 * Files are fetched through short-lived signed URLs (`client.files.url()`), renewed while shown,
 * so the access token never goes into a URL.
 */
import { ErrorCode, SwitchboardError, type Attachment } from '@switchboard/client';
import { Limits } from '@switchboard/protocol';
import { useCallback, useEffect, useRef, useState, type CSSProperties } from 'react';
import type { ChatStore } from './chat-store.js';
import { describeError } from '../errors.js';
import { formatSize } from '../ui/format.js';
import { CloseIcon, DownloadIcon, FileIcon } from '../ui/icons.js';
import { useStore } from '../use-store.js';

/** Types the server serves inline; everything else (SVG included) downloads. */
const INLINE_IMAGES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif']);
/** A shown file asks for a fresh URL this long before the one it has expires, ms. */
const RENEW_MARGIN_MS = 30_000;

/**
 * An upload's refusal in words. For 413 the server's own: it tells the file size limit from the
 * storage quota and says how much room is left.
 */
function uploadError(err: unknown): string {
  if (err instanceof SwitchboardError && err.code === ErrorCode.PAYLOAD_TOO_LARGE && !err.local && err.message) {
    return err.message.charAt(0).toUpperCase() + err.message.slice(1);
  }
  return describeError(err);
}

export interface Upload {
  /** Local key of this upload. */
  key: string;
  name: string;
  size: number;
  /** 0..1 */
  progress: number;
  status: 'uploading' | 'done' | 'failed';
  /** The stored file, once done. */
  fileId: string | undefined;
  error: string | undefined;
}

let uploadCounter = 0;

/** A room's uploads on their way to the next message. */
export function useUploads(store: ChatStore, roomId: string) {
  const [uploads, setUploads] = useState<Upload[]>([]);
  const live = useRef(true);
  const running = useRef(new Map<string, AbortController>());
  useEffect(() => {
    live.current = true;
    const uploadsInFlight = running.current;
    return () => {
      // Leaving the room drops its unsent attachments: stop sending their bytes.
      live.current = false;
      for (const controller of uploadsInFlight.values()) controller.abort();
    };
  }, []);

  const patch = useCallback((key: string, change: Partial<Upload>) => {
    if (live.current) setUploads((list) => list.map((u) => (u.key === key ? { ...u, ...change } : u)));
  }, []);

  /** Files in the list, counted at once while several are added in one go. */
  const count = useRef(0);
  useEffect(() => {
    count.current = uploads.length;
  }, [uploads]);

  const add = useCallback(
    (files: File[]) => {
      for (const file of files) {
        const key = `u${++uploadCounter}`;
        const base = { key, name: file.name, size: file.size, progress: 0, fileId: undefined };
        if (count.current >= Limits.attachmentsPerMessageMax) {
          const error = `At most ${Limits.attachmentsPerMessageMax} files per message`;
          setUploads((list) => [...list, { ...base, status: 'failed', error }]);
          continue;
        }
        count.current++;
        setUploads((list) => [...list, { ...base, status: 'uploading', error: undefined }]);
        const controller = new AbortController();
        running.current.set(key, controller);
        store.client.files
          .upload(roomId, file, {
            signal: controller.signal,
            onProgress: (loaded, total) => patch(key, { progress: total > 0 ? loaded / total : 1 }),
          })
          .then(
            (info) => patch(key, { status: 'done', progress: 1, fileId: info.id }),
            (err: unknown) => patch(key, { status: 'failed', error: uploadError(err) }),
          )
          .finally(() => running.current.delete(key));
      }
    },
    [store, roomId, patch],
  );

  const remove = useCallback((key: string) => {
    running.current.get(key)?.abort();
    setUploads((list) => list.filter((u) => u.key !== key));
  }, []);
  const clear = useCallback(() => setUploads((list) => list.filter((u) => u.status === 'uploading')), []);
  return { uploads, add, remove, clear };
}

export function UploadList({ uploads, onRemove }: { uploads: readonly Upload[]; onRemove: (key: string) => void }) {
  return (
    <ul className="upload-list" aria-label="Attachments">
      {uploads.map((u) => (
        <li key={u.key} className={`upload ${u.status}`}>
          <FileIcon size={16} />
          <span className="upload-name" title={u.name}>
            {u.name}
          </span>
          <span className="upload-size">{formatSize(u.size)}</span>
          {u.status === 'uploading' && (
            <progress max={1} value={u.progress} aria-label={`Uploading ${u.name}`}>
              {Math.round(u.progress * 100)}%
            </progress>
          )}
          {u.status === 'failed' && (
            <span className="upload-error" role="alert">
              {u.error}
            </span>
          )}
          {u.status === 'done' && <span className="upload-done">Ready</span>}
          <button type="button" className="icon-button small" aria-label={`Remove ${u.name}`} onClick={() => onRemove(u.key)}>
            <CloseIcon size={14} />
          </button>
        </li>
      ))}
    </ul>
  );
}

/** A fresh signed URL for a file, renewed while shown. */
function useFileUrl(fileId: string): string | undefined {
  const store = useStore();
  const [url, setUrl] = useState<string | undefined>();
  useEffect(() => {
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = () => {
      // The SDK hands out the same URL until shortly before it expires, then a new one.
      store.client.files.url(fileId).then(
        (signed) => {
          if (cancelled) return;
          setUrl(signed.url);
          timer = setTimeout(load, Math.max(1000, signed.expiresAt - Date.now() - RENEW_MARGIN_MS + 1000));
        },
        () => undefined, // deleted or no longer readable: nothing to show
      );
    };
    load();
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [store, fileId]);
  return url;
}

/** The largest box an inline image is shown in, CSS pixels (as in styles.css `.image-attachment`). */
const IMAGE_BOX = { width: 360, height: 300 };

/**
 * The box an image will take, from the pixel size the server read at upload: set before the image
 * loads, so that the message list does not grow under the reader when it arrives (a room opened
 * at its last message stays at the bottom). Narrow screens shrink it, keeping its aspect ratio.
 */
function imageBox(attachment: Attachment): CSSProperties | undefined {
  const { width, height } = attachment;
  if (!width || !height) return undefined;
  const scale = Math.min(1, IMAGE_BOX.width / width, IMAGE_BOX.height / height);
  return { width: `${Math.max(1, Math.round(width * scale))}px`, aspectRatio: `${width} / ${height}` };
}

function ImageAttachment({ attachment }: { attachment: Attachment }) {
  const url = useFileUrl(attachment.id);
  // The image is loaded once; a renewed URL is only for opening it in full.
  const [src, setSrc] = useState<string | undefined>();
  useEffect(() => {
    if (url && !src) setSrc(url);
  }, [url, src]);
  const box = imageBox(attachment);
  return (
    <a
      className={box ? 'image-attachment sized' : 'image-attachment'}
      style={box}
      href={url}
      target="_blank"
      rel="noopener noreferrer"
      aria-label={`Open image ${attachment.name}`}
    >
      {src ? (
        <img src={src} alt={attachment.name} loading="lazy" width={attachment.width} height={attachment.height} />
      ) : (
        <span className="image-placeholder">Loading image…</span>
      )}
    </a>
  );
}

function FileAttachment({ attachment }: { attachment: Attachment }) {
  const url = useFileUrl(attachment.id);
  return (
    <a className="file-card" href={url} download={attachment.name} aria-label={`Download ${attachment.name}, ${formatSize(attachment.size)}`}>
      <span className="file-card-icon">
        <FileIcon size={22} />
      </span>
      <span className="file-card-text">
        <span className="file-card-name">{attachment.name}</span>
        <span className="file-card-meta">
          {formatSize(attachment.size)} · {attachment.mime}
        </span>
      </span>
      <DownloadIcon size={18} />
    </a>
  );
}

export function AttachmentList({ attachments }: { attachments: readonly Attachment[] }) {
  return (
    <div className="attachments">
      {attachments.map((a) =>
        INLINE_IMAGES.has(a.mime) ? <ImageAttachment key={a.id} attachment={a} /> : <FileAttachment key={a.id} attachment={a} />,
      )}
    </div>
  );
}
