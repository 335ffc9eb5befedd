/**
 * The Games page (`/games`): Light Cycles for every signed-in user. The page owns its store, so
 * `/game` is connected only while the page is open; leaving the page mid-game drops the seat after
 * the server's hold, like closing the tab. `/games?join=<code>` (a game invitation opened) joins
 * that game once, then the address is `/games` again so a reload does not join twice.
 */
import type { SwitchboardClient } from '@switchboard/client';
import { useEffect, useState, useSyncExternalStore } from 'react';
import { navigateToGames, useGameJoinRoute } from '../router.js';
import { GameStore } from './game-store.js';
import { Lobby } from './lobby.js';
import { PlayView } from './play-view.js';
import '../admin/admin.css';
import '../integrations/integrations.css';
import './game.css';

export function GamesView({ client, me }: { client: SwitchboardClient; me: string }) {
  const [store] = useState(() => new GameStore(client, me));
  useEffect(() => {
    store.start();
    return () => store.stop();
  }, [store]);
  const joinCode = useGameJoinRoute();
  useEffect(() => {
    if (joinCode === undefined) return;
    navigateToGames({ replace: true });
    void store.join(joinCode);
  }, [store, joinCode]);
  const state = useSyncExternalStore(store.subscribe, store.getSnapshot);
  return (
    <div className="admin games">
      {state.play ? <PlayView store={store} play={state.play} connected={state.connected} error={state.error} /> : <Lobby store={store} state={state} me={me} />}
    </div>
  );
}
