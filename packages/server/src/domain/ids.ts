/** Ids: UUIDv7 — opaque, URL-safe, and time-sortable (RFC 9562 §5.7), so newer ids sort later. */
import { v7 } from 'uuid';

export const newId = (): string => v7();
