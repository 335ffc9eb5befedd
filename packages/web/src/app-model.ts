/**
 * Who is signed in: signing up, in and out, restoring the stored Session on load, and the one
 * SDK client (with its ChatStore) of the signed-in user. Lives outside React so exactly one
 * client exists per sign-in, whatever React renders.
 */
import { createClient, login, logout, register, type Session, type User } from '@switchboard/client';
import { ChatStore } from './chat/chat-store.js';
import { clearSession, loadSession, onSessionChangedElsewhere, saveSession, storedTokenProvider } from './session.js';

export type AuthState =
  | { status: 'signed-out'; notice: string | undefined }
  | { status: 'signed-in'; user: User; store: ChatStore };

export class AppModel {
  private current: AuthState = { status: 'signed-out', notice: undefined };
  private readonly listeners = new Set<() => void>();

  constructor(private readonly url: string) {
    const stored = loadSession();
    if (stored) this.start(stored);
    onSessionChangedElsewhere((session) => {
      const signedInAs = this.current.status === 'signed-in' ? this.current.user.id : undefined;
      if (session?.user.id === signedInAs) return;
      this.stop(session ? undefined : 'You signed out in another tab.');
      if (session) this.start(session);
    });
  }

  get state(): AuthState {
    return this.current;
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): AuthState => this.current;

  async signIn(username: string, password: string): Promise<void> {
    this.begin(await login(this.url, { username, password }));
  }

  /** `inviteCode`: from an invite link; it lets the account in where sign-up is closed, and into the invite's room. */
  async signUp(username: string, password: string, displayName: string | undefined, inviteCode?: string): Promise<void> {
    this.begin(await register(this.url, { username, password, ...(displayName ? { displayName } : {}), ...(inviteCode ? { inviteCode } : {}) }));
  }

  /** The user changed their profile (display name): shown, and kept for the next visit. */
  userChanged(user: User): void {
    if (this.current.status !== 'signed-in' || this.current.user.id !== user.id) return;
    const stored = loadSession();
    if (stored?.user.id === user.id) saveSession({ ...stored, user });
    this.set({ ...this.current, user });
  }

  /** Disconnects and ends the login on the server (locally at least, when the server is unreachable). */
  async signOut(): Promise<void> {
    const session = loadSession();
    this.stop(undefined);
    clearSession();
    if (session) await logout(this.url, session.refreshToken).catch(() => undefined);
  }

  private begin(session: Session): void {
    this.stop(undefined);
    saveSession(session);
    this.start(session);
  }

  private start(session: Session): void {
    const client = createClient({
      url: this.url,
      getToken: storedTokenProvider(this.url, (renewed) => {
        if (this.current.status === 'signed-in') this.set({ ...this.current, user: renewed.user });
      }),
    });
    const store = new ChatStore(client, session.user);
    client.on('error', () => {
      // The login ended (signed out elsewhere, or revoked): nothing left to renew it with.
      if (this.current.status === 'signed-in' && this.current.store === store) {
        this.stop('Your session has ended. Please sign in again.');
        clearSession();
      }
    });
    this.set({ status: 'signed-in', user: session.user, store });
  }

  private stop(notice: string | undefined): void {
    if (this.current.status === 'signed-in') {
      this.current.store.dispose();
      this.current.store.client.close();
    }
    this.set({ status: 'signed-out', notice });
  }

  private set(state: AuthState): void {
    this.current = state;
    for (const listener of [...this.listeners]) listener();
  }
}
