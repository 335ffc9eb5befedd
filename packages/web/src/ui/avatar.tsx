/** A person's avatar: initials on their own colour, with an optional presence dot. */
import type { CSSProperties } from 'react';
import { hueOf, initials } from './format.js';

export function Avatar({ id, name, size = 32, online }: { id: string; name: string; size?: number; online?: boolean | undefined }) {
  return (
    <span className="avatar" style={{ width: size, height: size, '--hue': hueOf(id), fontSize: size * 0.4 } as CSSProperties} aria-hidden="true">
      {initials(name)}
      {online !== undefined && <span className={online ? 'presence online' : 'presence offline'} />}
    </span>
  );
}

/** A presence dot with its meaning for screen readers. */
export function PresenceDot({ online }: { online: boolean }) {
  return (
    <span className={online ? 'presence-dot online' : 'presence-dot offline'} role="img" aria-label={online ? 'online' : 'offline'} />
  );
}
