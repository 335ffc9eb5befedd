/**
 * zod schemas for every inbound payload (HTTP bodies and client→server events). The server
 * validates with these; clients may too. Unknown extra fields are stripped, never an error
 * (PROTOCOL §2); wrong types, missing fields and out-of-range values fail.
 */
import { z } from 'zod';
import { Limits, codePointLength } from './limits.js';

/** A string limited in Unicode code points rather than UTF-16 units. */
function text(min: number, max: number) {
  return z
    .string()
    .refine((s) => codePointLength(s) >= min, { message: `must be at least ${min} characters` })
    .refine((s) => codePointLength(s) <= max, { message: `must be at most ${max} characters` });
}

/** Text with at least one non-whitespace character. */
export function nonBlank(max: number) {
  return text(1, max).refine((s) => s.trim().length > 0, { message: 'must not be blank' });
}

// ---------------------------------------------------------------- names people see (PROTOCOL §2)

/**
 * Characters a name may not contain: controls (`Cc`, and the line and paragraph separators), bidi
 * controls (LRM/RLM, ALM, the embeddings and overrides U+202A–E, the isolates U+2066–9) that can
 * reorder what is shown around them (CVE-2021-42574, "Trojan Source"), and characters that show
 * nothing and so make two names that look alike differ: zero-width space and non-joiner, word
 * joiner, invisible operators, deprecated format characters, BOM, soft hyphen, the combining
 * grapheme joiner, the Mongolian vowel separator, Hangul fillers, interlinear annotation marks and
 * lone surrogates. ZWJ and tag characters are checked apart: emoji sequences need them.
 */
const FORBIDDEN_IN_NAMES =
  /[\p{Cc}\p{Cs}\u00AD\u061C\u115F\u1160\u180E\u200B\u200C\u200E\u200F\u2028\u2029\u202A-\u202E\u2060-\u206F\u3164\uFEFF\uFFA0\uFFF9-\uFFFB]|\u034F/u;
/**
 * A zero-width joiner that does not join two emoji (UTS #51 ZWJ sequences such as 👩‍💻, whose
 * first part may carry VS16 or a skin tone): outside such a sequence it only hides a difference.
 */
const STRAY_ZWJ = /(?<!\p{Extended_Pictographic}(?:\uFE0F|[\u{1F3FB}-\u{1F3FF}])?)\u200D|\u200D(?!\p{Extended_Pictographic})/u;
/** Emoji tag sequences (the flags of England, Scotland, Wales): the only place tag characters belong. */
const EMOJI_TAG_SEQUENCE = /\u{1F3F4}[\u{E0020}-\u{E007E}]+\u{E007F}/gu;
const TAG_CHARACTER = /[\u{E0000}-\u{E007F}]/u;

const codePointLabel = (ch: string) => `U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * The first character that makes `name` unacceptable as a name people see, as `U+XXXX`, or
 * undefined when there is none (PROTOCOL §2).
 */
export function forbiddenNameCharacter(name: string): string | undefined {
  const found =
    FORBIDDEN_IN_NAMES.exec(name)?.[0] ?? STRAY_ZWJ.exec(name)?.[0] ?? TAG_CHARACTER.exec(name.replace(EMOJI_TAG_SEQUENCE, ''))?.[0];
  return found === undefined ? undefined : codePointLabel(found);
}

/**
 * The one rule for every name people see — usernames, display names, room and document titles
 * (PROTOCOL §2): no control, bidi or invisible character (checked on the text as sent), then NFC,
 * then trimmed unless `trim: false`, then `min`–`max` code points.
 */
export function nameText(min: number, max: number, options: { trim?: boolean } = {}) {
  const checked = z.string().superRefine((s, ctx) => {
    const bad = forbiddenNameCharacter(s);
    if (bad !== undefined) {
      ctx.addIssue({ code: 'custom', message: `must not contain control, direction-changing or invisible characters (${bad})` });
    }
  });
  const normalized = options.trim === false ? checked.normalize('NFC') : checked.normalize('NFC').trim();
  return normalized
    .refine((s) => codePointLength(s) >= min, { message: min === 1 ? 'must not be blank' : `must be at least ${min} characters` })
    .refine((s) => codePointLength(s) <= max, { message: `must be at most ${max} characters` });
}

/**
 * The key under which two names count as the same (public room names: PROTOCOL §2): NFKC and case
 * folding, without default-ignorable characters, with runs of white space as one space —
 * Unicode's NFKC_Casefold, near enough. JavaScript has no case folding; upper- then lower-casing
 * folds what it folds (ß and SS, final and medial sigma) and, beyond it, merges a few letters
 * (dotless ı and i) that look alike anyway.
 */
export function nameKey(name: string): string {
  return name
    .normalize('NFKC')
    .toUpperCase()
    .toLowerCase()
    .normalize('NFKC')
    .replace(/\p{Default_Ignorable_Code_Point}/gu, '')
    .replace(/\s+/gu, ' ')
    .trim();
}

export const DisplayName = nameText(1, Limits.displayNameMax);
export const RoomName = nameText(1, Limits.roomNameMax);

export const Id = z
  .string()
  .min(1)
  .max(Limits.idMax)
  .regex(/^[A-Za-z0-9_-]+$/, 'must be an id');

export const Seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
export const Timestamp = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** A page size: at least 1; above the maximum it is clamped, not refused. */
export const PageLimit = z
  .number()
  .int()
  .min(1)
  .transform((n) => Math.min(n, Limits.pageMax));

// ---------------------------------------------------------------- HTTP: auth (PROTOCOL §3)

export const Username = nameText(Limits.usernameMin, Limits.usernameMax, { trim: false }).regex(
  /^[A-Za-z0-9_.-]+$/,
  'may contain only letters, digits, "_", "." and "-"',
);
export const Password = text(Limits.passwordMin, Limits.passwordMax);

export const RegisterInput = z.object({
  username: Username,
  password: Password,
  displayName: DisplayName.optional(),
  /** An invite's code (PROTOCOL §4.3): lets the account in even when registration is closed. */
  inviteCode: Id.optional(),
});
export const LoginInput = z.object({
  username: z.string().min(1).max(Limits.usernameMax * 4),
  password: z.string().min(1).max(Limits.passwordMax * 4),
});
export const RefreshInput = z.object({ refreshToken: z.string().min(1).max(Limits.tokenMax) });
export const LogoutInput = RefreshInput;

// ---------------------------------------------------------------- /chat (PROTOCOL §4.1)

export const RoomCreateInput = z.object({
  name: RoomName,
  kind: z.enum(['public', 'private']),
  topic: text(0, Limits.roomTopicMax).optional(),
  memberIds: z.array(Id).max(Limits.roomCreateMembersMax).optional(),
});
export const RoomListInput = z.object({}).optional();
export const RoomBrowseInput = z
  .object({
    query: z.string().max(Limits.browseQueryMax).optional(),
    limit: PageLimit.optional(),
  })
  .optional();
export const UserSearchInput = z.object({
  query: z
    .string()
    .trim()
    .refine((s) => s.length > 0, { message: 'must not be blank' })
    .refine((s) => codePointLength(s) <= Limits.userSearchQueryMax, {
      message: `must be at most ${Limits.userSearchQueryMax} characters`,
    }),
  limit: z
    .number()
    .int()
    .min(1)
    .transform((n) => Math.min(n, Limits.userSearchLimitMax))
    .optional(),
});
export const RoomIdInput = z.object({ roomId: Id });
export const RoomJoinInput = RoomIdInput;
export const RoomLeaveInput = RoomIdInput;
export const RoomMembersInput = RoomIdInput;
export const RoomInviteInput = z.object({ roomId: Id, userId: Id });
export const DmOpenInput = z.object({ userId: Id });
export const RoomUpdateInput = z
  .object({ roomId: Id, name: RoomName.optional(), topic: text(0, Limits.roomTopicMax).optional() })
  .refine((r) => r.name !== undefined || r.topic !== undefined, { message: 'give name or topic' });
export const RoomArchiveInput = z.object({ roomId: Id, archived: z.boolean() });
export const RoomRemoveInput = z.object({ roomId: Id, userId: Id });
export const RoomMuteInput = z.object({ roomId: Id, muted: z.boolean() });

export const ClientMsgId = z
  .string()
  .min(1)
  .max(Limits.clientMsgIdMax)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'must be URL-safe');

export const MessageSendInput = z
  .object({
    roomId: Id,
    clientMsgId: ClientMsgId,
    text: text(0, Limits.messageTextMax),
    attachmentIds: z.array(Id).max(Limits.attachmentsPerMessageMax).optional(),
    /** A reply in the thread of this root message of the same room (PROTOCOL §4.3). */
    threadId: Id.optional(),
  })
  .refine((m) => m.text.trim().length > 0 || (m.attachmentIds?.length ?? 0) > 0, {
    message: 'text must not be blank unless the message has attachments',
    path: ['text'],
  });
export const MessageEditInput = z.object({ messageId: Id, text: nonBlank(Limits.messageTextMax) });
export const MessageDeleteInput = z.object({ messageId: Id });
export const MessageHistoryInput = z
  .object({
    roomId: Id,
    beforeSeq: Seq.optional(),
    afterSeq: Seq.optional(),
    limit: PageLimit.optional(),
  })
  .refine((q) => q.beforeSeq === undefined || q.afterSeq === undefined, {
    message: 'give beforeSeq or afterSeq, not both',
  });
export const SyncInput = z.object({
  rooms: z
    .record(Id, Seq)
    .refine((r) => Object.keys(r).length <= Limits.syncRoomsMax, {
      message: `at most ${Limits.syncRoomsMax} rooms`,
    }),
  updatedSince: Timestamp.optional(),
  /**
   * Per room, the `updatedCursor` of a previous answer whose `updatedHasMore` was true: that
   * room's `updated` continues after it (instead of from `updatedSince`).
   */
  updatedAfter: z
    .record(Id, z.string().max(100).regex(/^\d{1,16}\.[A-Za-z0-9_-]*$/, 'must be an updatedCursor'))
    .refine((r) => Object.keys(r).length <= Limits.syncRoomsMax, { message: `at most ${Limits.syncRoomsMax} rooms` })
    .optional(),
});
export const ThreadHistoryInput = z.object({
  messageId: Id,
  afterSeq: Seq.optional(),
  limit: PageLimit.optional(),
});

/**
 * Built at run time: TypeScript's ES2022 target refuses the `v` flag in a literal. `RGI_Emoji` is
 * Unicode's list of emoji meant to show as one picture — sequences (flags, skin tones, ZWJ families)
 * included — so a match is exactly one emoji, never text or several.
 */
const RGI_EMOJI = new RegExp('^\\p{RGI_Emoji}$', 'v');
const SHORTCODE = /^:[a-z0-9_+-]+:$/;

/**
 * A reaction: one emoji, or a `:shortcode:` (lower-case letters, digits, `_`, `+`, `-`). An emoji
 * typed without its emoji presentation selector (❤ for ❤️) is stored with it, so both count as one.
 */
export const ReactionEmoji = z
  .string()
  .max(Limits.reactionShortcodeMax)
  .transform((s) => (!RGI_EMOJI.test(s) && RGI_EMOJI.test(`${s}\uFE0F`) ? `${s}\uFE0F` : s))
  .refine((s) => RGI_EMOJI.test(s) || SHORTCODE.test(s), { message: 'must be one emoji or a :shortcode:' });

export const MessageReactInput = z.object({ messageId: Id, emoji: ReactionEmoji, on: z.boolean() });
export const TypingInput = z.object({ roomId: Id, typing: z.boolean() });
export const ReadInput = z.object({ roomId: Id, seq: Seq });
export const AuthRenewInput = z.object({ token: z.string().min(1).max(Limits.tokenMax) });

// ---------------------------------------------------------------- /notifications (PROTOCOL §4.2)

export const NotificationListInput = z
  .object({
    before: Id.optional(),
    limit: PageLimit.optional(),
    unreadOnly: z.boolean().optional(),
  })
  .optional();
export const NotificationReadInput = z
  .object({
    ids: z.array(Id).max(Limits.notificationReadIdsMax).optional(),
    all: z.boolean().optional(),
  })
  .refine((r) => r.ids !== undefined || r.all === true, { message: 'give ids or all: true' });

export type RegisterInput = z.infer<typeof RegisterInput>;
export type LoginInput = z.infer<typeof LoginInput>;
export type RefreshInput = z.infer<typeof RefreshInput>;
export type RoomCreateInput = z.input<typeof RoomCreateInput>;
export type RoomBrowseInput = z.input<typeof RoomBrowseInput>;
export type UserSearchInput = z.input<typeof UserSearchInput>;
export type RoomIdInput = z.input<typeof RoomIdInput>;
export type RoomInviteInput = z.input<typeof RoomInviteInput>;
export type DmOpenInput = z.input<typeof DmOpenInput>;
export type RoomUpdateInput = z.input<typeof RoomUpdateInput>;
export type RoomArchiveInput = z.input<typeof RoomArchiveInput>;
export type RoomRemoveInput = z.input<typeof RoomRemoveInput>;
export type RoomMuteInput = z.input<typeof RoomMuteInput>;
export type MessageSendInput = z.input<typeof MessageSendInput>;
export type MessageEditInput = z.input<typeof MessageEditInput>;
export type MessageDeleteInput = z.input<typeof MessageDeleteInput>;
export type MessageHistoryInput = z.input<typeof MessageHistoryInput>;
export type SyncInput = z.input<typeof SyncInput>;
export type ThreadHistoryInput = z.input<typeof ThreadHistoryInput>;
export type MessageReactInput = z.input<typeof MessageReactInput>;
export type TypingInput = z.input<typeof TypingInput>;
export type ReadInput = z.input<typeof ReadInput>;
export type AuthRenewInput = z.input<typeof AuthRenewInput>;
export type NotificationListInput = z.input<typeof NotificationListInput>;
export type NotificationReadInput = z.input<typeof NotificationReadInput>;
