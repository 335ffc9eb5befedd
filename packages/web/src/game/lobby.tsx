/**
 * The Games page's lobby: quick match (duel or quad, with the time waited in the queue and Cancel),
 * a private game (with bots, and people invited to it) and joining one by its code, the live games
 * with Watch buttons, the leaderboard of a mode, and the user's recent games.
 */
import { GameLimits, type GameMode } from '@switchboard/protocol';
import { useEffect, useState, type FormEvent } from 'react';
import { PersonPicker } from '../chat/people-dialog.js';
import type { Person } from '../chat/chat-store.js';
import { useStore } from '../use-store.js';
import { formatAgo, formatFull } from '../ui/format.js';
import { DataTable } from '../ui/data-table.js';
import type { GamesState, GameStore } from './game-store.js';

const MODE_NAMES: Record<GameMode, string> = { duel: 'Duel', quad: 'Quad' };
const MODES = ['duel', 'quad'] as const;

const versus = (players: { name: string }[]) => players.map((p) => p.name).join(' vs ');

/** "0:07", "1:23": minutes and seconds. */
function formatWaited(seconds: number): string {
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}

/**
 * The time waited in the queue, again every second. A timer, not a live region: it is read when
 * asked, not announced every second.
 */
function QueueTimer({ since }: { since: number }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  const seconds = Math.max(0, Math.floor((now - since) / 1000));
  return (
    <span className="queue-timer mono" role="timer" aria-label={`Waited ${seconds} ${seconds === 1 ? 'second' : 'seconds'}`}>
      {formatWaited(seconds)}
    </span>
  );
}

function QuickMatch({ store, state }: { store: GameStore; state: GamesState }) {
  return (
    <section className="admin-card" aria-labelledby="quick-match-heading">
      <h2 id="quick-match-heading">Quick match</h2>
      {state.queued ? (
        <div className="queue-state">
          <span className="live-dot" aria-hidden="true" />
          <span role="status">Looking for a {state.queued} opponent… bots take the seats left after a while.</span>
          {state.queuedSince !== undefined && <QueueTimer since={state.queuedSince} />}
          <button type="button" className="button small" onClick={() => void store.cancelQueue()} disabled={state.busy}>
            Cancel
          </button>
        </div>
      ) : (
        <>
          <p className="hint">Play against people of a close rating; bots fill the seats nobody takes.</p>
          <div className="game-actions">
            {MODES.map((mode) => (
              <button key={mode} type="button" className="button primary" onClick={() => void store.queue(mode)} disabled={state.busy}>
                {MODE_NAMES[mode]} ({GameLimits.seats[mode]} players)
              </button>
            ))}
          </div>
        </>
      )}
    </section>
  );
}

/**
 * The people to invite to a private game: those the user shares a room with, and anyone found by
 * name, as when inviting to a room.
 */
function InvitePeople({ chosen, onChange }: { chosen: ReadonlySet<string>; onChange: (chosen: ReadonlySet<string>) => void }) {
  const chat = useStore();
  const [people, setPeople] = useState<Person[] | undefined>();
  useEffect(() => {
    void chat.people().then(setPeople, () => setPeople([]));
  }, [chat]);
  return (
    <details
      className="game-invite"
      onKeyDown={(e) => {
        // Enter in the name search finds people; it must not create the game around it.
        if (e.key === 'Enter' && e.target instanceof HTMLInputElement && e.target.type === 'search') e.preventDefault();
      }}
    >
      <summary>Invite people{chosen.size > 0 ? ` (${chosen.size})` : ''}</summary>
      <span id="game-invite-people" className="sr-only">
        People to invite
      </span>
      {people === undefined ? (
        <p className="hint">Loading people…</p>
      ) : (
        <PersonPicker people={people} chosen={chosen} onChange={onChange} labelledBy="game-invite-people" />
      )}
    </details>
  );
}

function PrivateGame({ store, state }: { store: GameStore; state: GamesState }) {
  const [mode, setMode] = useState<GameMode>('duel');
  const [bots, setBots] = useState(0);
  const [code, setCode] = useState('');
  const [invited, setInvited] = useState<ReadonlySet<string>>(new Set());
  const maxBots = GameLimits.seats[mode] - 1;
  const freeSeats = maxBots - Math.min(bots, maxBots);
  const tooMany = invited.size > freeSeats;

  const create = (e: FormEvent) => {
    e.preventDefault();
    void store.create(mode, Math.min(bots, maxBots), [...invited]);
  };
  const join = (e: FormEvent) => {
    e.preventDefault();
    void store.join(code.trim());
  };

  return (
    <section className="admin-card" aria-labelledby="private-game-heading">
      <h2 id="private-game-heading">Private game</h2>
      <form className="inline-form" onSubmit={create} aria-label="Create a private game">
        <label className="field">
          <span>Mode</span>
          <select value={mode} onChange={(e) => setMode(e.target.value as GameMode)}>
            {MODES.map((m) => (
              <option key={m} value={m}>
                {MODE_NAMES[m]} ({GameLimits.seats[m]} players)
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Bots</span>
          <select value={Math.min(bots, maxBots)} onChange={(e) => setBots(Number(e.target.value))}>
            {Array.from({ length: maxBots + 1 }, (_, n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" className="button primary" disabled={state.busy || state.queued !== undefined || tooMany}>
          Create game
        </button>
        <InvitePeople chosen={invited} onChange={setInvited} />
        {tooMany && (
          <p className="form-error" role="alert">
            {freeSeats === 0 ? 'The bots take every free seat: choose fewer bots to invite people.' : `Only ${freeSeats} ${freeSeats === 1 ? 'seat is' : 'seats are'} free: invite fewer people or choose fewer bots.`}
          </p>
        )}
      </form>
      <form className="inline-form" onSubmit={join} aria-label="Join a game by code">
        <label className="field">
          <span>Game code</span>
          <input
            name="game-code"
            className="mono code-input"
            required
            autoComplete="off"
            spellCheck={false}
            minLength={GameLimits.codeLength}
            maxLength={GameLimits.codeLength}
            value={code}
            onChange={(e) => setCode(e.target.value.toUpperCase())}
            placeholder="ABC234"
          />
        </label>
        <button type="submit" className="button" disabled={state.busy || code.trim().length !== GameLimits.codeLength}>
          Join
        </button>
      </form>
    </section>
  );
}

function LiveGames({ store, state }: { store: GameStore; state: GamesState }) {
  const { live } = state;
  return (
    <section className="admin-card" aria-labelledby="live-games-heading">
      <div className="admin-card-header">
        <h2 id="live-games-heading">Live games</h2>
        <button type="button" className="button small" onClick={() => store.refreshLive()}>
          Refresh
        </button>
      </div>
      <DataTable
        label="Live games"
        columns={[
          { header: 'Players', rowHeader: true, cell: (g) => versus(g.players) },
          { header: 'Mode', cell: (g) => MODE_NAMES[g.mode] },
          { header: 'Round', className: 'num', cell: (g) => g.round },
          { header: 'Watching', className: 'num', cell: (g) => g.spectators },
          {
            header: 'Actions',
            hideHeader: true,
            className: 'num',
            cell: (g) => (
              <button type="button" className="button small" aria-label={`Watch ${versus(g.players)}`} onClick={() => void store.watch(g.gameId)} disabled={state.busy}>
                Watch
              </button>
            ),
          },
        ]}
        rows={live}
        rowKey={(g) => g.gameId}
        empty="Nobody is playing right now."
      />
    </section>
  );
}

function Leaderboard({ store, state }: { store: GameStore; state: GamesState }) {
  const { leaderboard, leaderboardMode } = state;
  return (
    <section className="admin-card" aria-labelledby="leaderboard-heading">
      <div className="admin-card-header">
        <h2 id="leaderboard-heading">Leaderboard</h2>
        <div className="segmented" role="group" aria-label="Mode">
          {MODES.map((m) => (
            <button key={m} type="button" className={m === leaderboardMode ? 'button small pressed' : 'button small'} aria-pressed={m === leaderboardMode} onClick={() => store.showLeaderboard(m)}>
              {MODE_NAMES[m]}
            </button>
          ))}
        </div>
      </div>
      <DataTable
        label={`${MODE_NAMES[leaderboardMode]} leaderboard`}
        columns={[
          { header: '#', className: 'num', cell: (e) => e.rank },
          { header: 'Player', rowHeader: true, cell: (e) => `@${e.username}` },
          { header: 'Rating', className: 'num', cell: (e) => e.rating },
          { header: 'Games', className: 'num', cell: (e) => e.games },
          { header: 'Wins', className: 'num', cell: (e) => e.wins },
        ]}
        rows={leaderboard?.map((e, i) => ({ ...e, rank: i + 1 }))}
        rowKey={(e) => e.userId}
        empty={`No rated ${leaderboardMode} games yet.`}
      />
    </section>
  );
}

function RecentGames({ state, me }: { state: GamesState; me: string }) {
  const { history } = state;
  return (
    <section className="admin-card" aria-labelledby="recent-games-heading">
      <h2 id="recent-games-heading">Your recent games</h2>
      {!history ? (
        <p className="hint">Loading…</p>
      ) : history.length === 0 ? (
        <p className="hint">No games played yet.</p>
      ) : (
        <ul className="recent-games" aria-label="Your recent games">
          {history.map((g) => {
            const mine = g.players.find((p) => p.userId === me);
            const result = g.reason === 'aborted' ? 'aborted' : g.winnerSeat === null ? 'draw' : g.winnerSeat === mine?.seat ? 'won' : 'lost';
            return (
              <li key={g.gameId}>
                <span className={`game-result-tag ${result}`}>{result}</span>
                <span>
                  {MODE_NAMES[g.mode]}: {versus(g.players)}
                </span>
                <time className="hint" dateTime={new Date(g.finishedAt).toISOString()} title={formatFull(g.finishedAt)}>
                  {formatAgo(g.finishedAt)}
                </time>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}

export function Lobby({ store, state, me }: { store: GameStore; state: GamesState; me: string }) {
  return (
    <div className="game-lobby">
      {state.error && (
        <p className="form-error" role="alert">
          {state.error}
        </p>
      )}
      <div className="game-lobby-grid">
        <div>
          <QuickMatch store={store} state={state} />
          <PrivateGame store={store} state={state} />
          <LiveGames store={store} state={state} />
        </div>
        <div>
          <Leaderboard store={store} state={state} />
          <RecentGames state={state} me={me} />
        </div>
      </div>
    </div>
  );
}
