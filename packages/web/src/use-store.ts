/** React bindings for the app model and the chat store. */
import { createContext, useContext, useSyncExternalStore } from 'react';
import type { AppModel, AuthState } from './app-model.js';
import type { ChatState, ChatStore } from './chat/chat-store.js';

export function useAuth(model: AppModel): AuthState {
  return useSyncExternalStore(model.subscribe, model.getSnapshot);
}

/** The signed-in user's chat store, provided by the workspace. */
export const StoreContext = createContext<ChatStore | undefined>(undefined);

export function useStore(): ChatStore {
  const store = useContext(StoreContext);
  if (!store) throw new Error('useStore() outside the workspace');
  return store;
}

export function useChatState(): ChatState {
  const store = useStore();
  return useSyncExternalStore(store.subscribe, store.getSnapshot);
}
