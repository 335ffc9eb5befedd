/**
 * The pixel size of an uploaded image, read from its header, so that clients can reserve an
 * image's box before it loads (a chat opened at its last message stays there while images above
 * it arrive). Written here because none of the installed libraries reads dimensions (file-type
 * names the format only) and a header is all it takes: PNG's IHDR, GIF's logical screen, WebP's
 * VP8/VP8L/VP8X chunk and JPEG's start-of-frame segment, with the EXIF orientation that turns a
 * JPEG on its side (browsers apply it when they draw the image, so the box must too).
 *
 * Reads are positional and bounded: a JPEG's segments are walked by their lengths, never by
 * scanning the whole file, and anything malformed or unusual answers `undefined` (the image is
 * still stored and shown, just without a reserved box).
 */
import { open, type FileHandle } from 'node:fs/promises';

export interface ImageSize {
  width: number;
  height: number;
}

/** Larger than any real image: a header claiming more is not trusted. */
const MAX_SIDE = 65_535;
/** A JPEG whose frame header is not within this many segments is left unmeasured. */
const MAX_JPEG_SEGMENTS = 256;

const sized = (width: number, height: number): ImageSize | undefined =>
  width > 0 && height > 0 && width <= MAX_SIDE && height <= MAX_SIDE ? { width, height } : undefined;

async function readAt(file: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await file.read(buffer, 0, length, position);
  return buffer.subarray(0, bytesRead);
}

function png(head: Buffer): ImageSize | undefined {
  // Signature (8), IHDR length (4) and type (4), then width and height, big-endian.
  if (head.length < 24 || head.toString('latin1', 12, 16) !== 'IHDR') return undefined;
  return sized(head.readUInt32BE(16), head.readUInt32BE(20));
}

function gif(head: Buffer): ImageSize | undefined {
  if (head.length < 10) return undefined;
  return sized(head.readUInt16LE(6), head.readUInt16LE(8));
}

function webp(head: Buffer): ImageSize | undefined {
  if (head.length < 25 || head.toString('latin1', 0, 4) !== 'RIFF' || head.toString('latin1', 8, 12) !== 'WEBP') return undefined;
  const chunk = head.toString('latin1', 12, 16);
  if (chunk === 'VP8L') {
    // Lossless: signature 0x2f, then 14 bits of width − 1 and 14 bits of height − 1.
    if (head[20] !== 0x2f) return undefined;
    const bits = head.readUInt32LE(21);
    return sized((bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1);
  }
  if (head.length < 30) return undefined;
  if (chunk === 'VP8 ') {
    // Lossy: a key frame's start code, then 14-bit width and height (the top 2 bits are scaling).
    if (head[23] !== 0x9d || head[24] !== 0x01 || head[25] !== 0x2a) return undefined;
    return sized(head.readUInt16LE(26) & 0x3fff, head.readUInt16LE(28) & 0x3fff);
  }
  if (chunk === 'VP8X') {
    // Extended: 24-bit canvas width − 1 and height − 1.
    return sized(head.readUIntLE(24, 3) + 1, head.readUIntLE(27, 3) + 1);
  }
  return undefined;
}

/** EXIF orientations 5–8 rotate the image a quarter turn: width and height trade places. */
function turnsSideways(exif: Buffer): boolean {
  // "Exif\0\0", then a TIFF header: byte order, 42, the offset of IFD0.
  if (exif.length < 14 || exif.toString('latin1', 0, 6) !== 'Exif\0\0') return false;
  const tiff = exif.subarray(6);
  const little = tiff.toString('latin1', 0, 2) === 'II';
  const u16 = (at: number) => (little ? tiff.readUInt16LE(at) : tiff.readUInt16BE(at));
  const u32 = (at: number) => (little ? tiff.readUInt32LE(at) : tiff.readUInt32BE(at));
  const ifd = u32(4);
  if (ifd + 2 > tiff.length) return false;
  const entries = u16(ifd);
  for (let i = 0; i < entries; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > tiff.length) return false;
    if (u16(entry) === 0x0112) return u16(entry + 8) >= 5 && u16(entry + 8) <= 8;
  }
  return false;
}

async function jpeg(file: FileHandle, size: number): Promise<ImageSize | undefined> {
  let position = 2; // past SOI
  let sideways = false;
  for (let segments = 0; segments < MAX_JPEG_SEGMENTS && position + 4 <= size; segments++) {
    const header = await readAt(file, position, 4);
    if (header.length < 4 || header[0] !== 0xff) return undefined;
    const marker = header[1] ?? 0;
    if (marker === 0xff) {
      position += 1; // fill byte
      continue;
    }
    const length = header.readUInt16BE(2);
    if (length < 2) return undefined;
    // Start of frame: every SOFn but DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      const frame = await readAt(file, position + 4, 5);
      if (frame.length < 5) return undefined;
      const height = frame.readUInt16BE(1);
      const width = frame.readUInt16BE(3);
      return sideways ? sized(height, width) : sized(width, height);
    }
    if (marker === 0xe1) sideways ||= turnsSideways(await readAt(file, position + 4, Math.min(length - 2, 64 * 1024)));
    if (marker === 0xd9 || marker === 0xda) return undefined; // end of image, or scan data before any frame header
    position += 2 + length;
  }
  return undefined;
}

/** The width and height an image is shown at, for the types that can be shown inline; else undefined. */
export async function imageSize(path: string, mime: string): Promise<ImageSize | undefined> {
  if (!['image/png', 'image/gif', 'image/webp', 'image/jpeg'].includes(mime)) return undefined;
  const file = await open(path, 'r');
  try {
    if (mime === 'image/jpeg') return await jpeg(file, (await file.stat()).size);
    const head = await readAt(file, 0, 32);
    if (mime === 'image/png') return png(head);
    if (mime === 'image/gif') return gif(head);
    return webp(head);
  } catch (err) {
    // A header that points past its own bytes: a malformed image, not a failed upload.
    if (err instanceof RangeError) return undefined;
    throw err;
  } finally {
    await file.close();
  }
}
