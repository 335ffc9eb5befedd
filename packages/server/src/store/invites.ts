/** Invite links: created by members or admins, spent one use per account registered with them. */
import type { Kysely, Selectable, Transaction } from 'kysely';
import type { DB, InvitesTable } from './schema.js';

export type InviteRow = Selectable<InvitesTable>;

export class InviteRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async create(invite: Omit<InviteRow, 'uses'>): Promise<void> {
    await this.db.insertInto('invites').values(invite).execute();
  }
}

/**
 * Takes one use of an invite inside the caller's transaction: a single conditional UPDATE, so
 * parallel registrations never use it more than `max_uses` times. Undefined when the code is
 * unknown, spent or expired.
 */
export async function claimInvite(trx: Transaction<DB>, code: string, now: number): Promise<Pick<InviteRow, 'room_id' | 'created_by'> | undefined> {
  return trx
    .updateTable('invites')
    .set((eb) => ({ uses: eb('uses', '+', 1) }))
    .where('code', '=', code)
    .where('expires_at', '>', now)
    .where((eb) => eb.or([eb('max_uses', 'is', null), eb('uses', '<', eb.ref('max_uses'))]))
    .returning(['room_id', 'created_by'])
    .executeTakeFirst();
}
