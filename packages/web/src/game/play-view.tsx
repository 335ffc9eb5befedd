/**
 * A game played or watched: the board, the players with their colours and scores, the phase and the
 * last round's result (announced politely to screen readers), and the end with the winner and the
 * rating changes. Players steer with the arrow keys, WASD or a swipe on the board (a direction on
 * screen) or with the Turn left / Turn right buttons (relative to the cycle); spectators get no
 * controls, a "Watching" badge instead, and everyone sees how many are watching.
 */
import type { Direction, GameOverEvent, GamePlayer } from '@switchboard/client';
import { useCallback, useEffect } from 'react';
import { Board, PHASE_WORDS, SEAT_COLOURS, SEAT_COLOUR_NAMES } from './board.js';
import type { GameStore, Play } from './game-store.js';

const KEYS: Record<string, Direction> = {
  ArrowUp: 'up',
  ArrowDown: 'down',
  ArrowLeft: 'left',
  ArrowRight: 'right',
  w: 'up',
  s: 'down',
  a: 'left',
  d: 'right',
};

const nameOf = (players: GamePlayer[], seat: number | null) => (seat === null ? undefined : players.find((p) => p.seat === seat)?.name);

function typingInAField(target: EventTarget | null): boolean {
  return target instanceof HTMLElement && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName));
}

function Result({ over, players, mySeat, onBack }: { over: GameOverEvent; players: GamePlayer[]; mySeat: number | undefined; onBack: () => void }) {
  const winner = nameOf(players, over.winnerSeat);
  const title = over.reason === 'aborted' ? 'Game aborted' : winner ? `${winner} wins` : 'Draw';
  const detail =
    over.reason === 'aborted'
      ? 'The server running this game went away; no rating changed.'
      : over.reason === 'forfeit'
        ? 'The others left the game.'
        : mySeat === undefined
          ? undefined
          : over.winnerSeat === mySeat
            ? 'You won.'
            : over.winnerSeat === null
              ? 'Nobody won.'
              : 'You lost.';
  return (
    <section className="game-result" aria-labelledby="game-result-heading">
      <h2 id="game-result-heading">{title}</h2>
      {detail && <p>{detail}</p>}
      {over.ratings.length > 0 && (
        <ul className="rating-changes" aria-label="Rating changes">
          {over.ratings.map((r) => {
            const name = players.find((p) => p.userId === r.userId)?.name ?? 'A player';
            const delta = r.after - r.before;
            return (
              <li key={r.userId}>
                {name}: {r.before} → {r.after} ({delta >= 0 ? `+${delta}` : delta})
              </li>
            );
          })}
        </ul>
      )}
      <button type="button" className="button primary" onClick={onBack} autoFocus>
        Back to games
      </button>
    </section>
  );
}

export function PlayView({ store, play, connected, error }: { store: GameStore; play: Play; connected: boolean; error: string | undefined }) {
  const { board, over, role } = play;
  const steering = role === 'player' && !over && board?.phase !== 'waiting';
  const heading = useCallback((serverDir: Direction) => store.shownHeading(serverDir), [store]);
  const swiped = useCallback((toward: Direction) => store.steer(toward), [store]);

  useEffect(() => {
    if (!steering) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey || typingInAField(e.target)) return;
      const toward = KEYS[e.key.length === 1 ? e.key.toLowerCase() : e.key];
      if (!toward) return;
      // Arrows would scroll the page.
      e.preventDefault();
      store.steer(toward);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [store, steering]);

  const lastRound = play.lastRound;
  const roundWinner = lastRound && board ? nameOf(board.players, lastRound.winnerSeat) : undefined;
  const status = !board
    ? 'Loading…'
    : board.phase === 'between-rounds' && lastRound
      ? `Round ${lastRound.round}: ${roundWinner ? `${roundWinner} wins the round` : 'a draw'}`
      : board.phase === 'countdown'
        ? `Round ${board.round}: get ready`
        : board.phase === 'running'
          ? `Round ${board.round}: ride!`
          : board.phase === 'over'
            ? 'Game over'
            : PHASE_WORDS[board.phase];

  return (
    <div className="game-play">
      <div className="game-play-header">
        <h2>
          {board ? `${board.mode === 'duel' ? 'Duel' : 'Quad'} · round ${board.round}` : 'Game'}
        </h2>
        {role === 'spectator' && <span className="badge watching-badge">Watching</span>}
        <span className="hint spectator-count">
          {play.spectators} {play.spectators === 1 ? 'spectator' : 'spectators'}
        </span>
        {!connected && (
          <span className="badge offline-badge" role="status">
            Reconnecting…
          </span>
        )}
        {!over && (
          <button type="button" className="button small game-leave" onClick={() => void store.leave()}>
            {role === 'spectator' ? 'Stop watching' : board?.phase === 'waiting' ? 'Leave' : 'Leave game'}
          </button>
        )}
      </div>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      {board?.phase === 'waiting' && play.code && (
        <p className="game-code">
          Share this code to play: <code className="mono" aria-label="Game code">{play.code}</code>
        </p>
      )}
      <p className="game-status" role="status" aria-live="polite">
        {status}
      </p>
      <div className="game-stage">
        {board && (
          <Board
            board={board}
            mySeat={role === 'player' ? play.seat : undefined}
            focusable={steering}
            heading={role === 'player' ? heading : undefined}
            onSwipe={steering ? swiped : undefined}
          />
        )}
        <div className="game-side">
          {board && (
            <ul className="game-players" aria-label="Players">
              {board.players.map((p) => {
                const cycle = board.cycles.find((c) => c.seat === p.seat);
                return (
                  <li key={p.seat} className={cycle && !cycle.alive ? 'out' : undefined}>
                    <span className="seat-swatch" style={{ background: SEAT_COLOURS[p.seat] }} aria-hidden="true" />
                    <span className="seat-name">
                      {p.name}
                      <span className="sr-only"> ({SEAT_COLOUR_NAMES[p.seat]})</span>
                      {role === 'player' && p.seat === play.seat && <span className="hint"> (you)</span>}
                      {p.bot && <span className="hint"> (bot)</span>}
                    </span>
                    <span className="seat-score" aria-label={`${board.scores[p.seat] ?? 0} points`}>
                      {board.scores[p.seat] ?? 0}
                    </span>
                  </li>
                );
              })}
            </ul>
          )}
          {steering && (
            <div className="game-controls" role="group" aria-label="Steering">
              <button type="button" className="button" onClick={() => store.turn('left')} disabled={board?.phase !== 'running'}>
                <span aria-hidden="true">↶</span> Turn left
              </button>
              <button type="button" className="button" onClick={() => store.turn('right')} disabled={board?.phase !== 'running'}>
                Turn right <span aria-hidden="true">↷</span>
              </button>
              <p className="hint">Arrow keys, WASD or a swipe on the board steer too.</p>
            </div>
          )}
          {over && board && <Result over={over} players={board.players} mySeat={role === 'player' ? play.seat : undefined} onBack={() => store.backToLobby()} />}
        </div>
      </div>
    </div>
  );
}
