/**
 * The Light Cycles board: a `<canvas>` redrawn from the store's board on every tick (the grid, each
 * seat's trail in its colour, the cycles' heads, a cross on the eliminated), and the same state in
 * words as its accessible name — round, phase, tick, and each player's score, state and heading.
 */
import type { GamePhase } from '@switchboard/client';
import { useEffect, useRef } from 'react';
import type { Board as BoardState } from './game-store.js';

/** One colour per seat, readable on the dark board and told apart by name in the text too. */
export const SEAT_COLOURS = ['#22d3ee', '#f472b6', '#a3e635', '#fbbf24'] as const;
export const SEAT_COLOUR_NAMES = ['cyan', 'pink', 'green', 'amber'] as const;

/** Canvas pixels per cell; CSS scales the canvas to the space it has. */
const CELL = 20;
/** Height of what surrounds the board (top bar, game header, status), px: the board fits in the rest. */
const CHROME_PX = 190;

export const PHASE_WORDS: Record<GamePhase, string> = {
  waiting: 'waiting for players',
  countdown: 'get ready',
  running: 'running',
  'between-rounds': 'between rounds',
  over: 'over',
};

/** The board in words, e.g. "Duel, 40 by 30. Round 1, running, tick 57. ada (cyan, you): 0 points, riding, heading right. …" */
export function describeBoard(board: BoardState, mySeat: number | undefined): string {
  const players = board.players.map((p) => {
    const cycle = board.cycles.find((c) => c.seat === p.seat);
    const who = `${p.name} (${SEAT_COLOUR_NAMES[p.seat] ?? `seat ${p.seat + 1}`}${p.seat === mySeat ? ', you' : ''}${p.bot ? ', bot' : ''})`;
    const points = board.scores[p.seat] ?? 0;
    const state = cycle ? `${cycle.alive ? 'riding' : 'out'}, heading ${cycle.dir}` : 'no cycle';
    return `${who}: ${points} ${points === 1 ? 'point' : 'points'}, ${state}.`;
  });
  const mode = board.mode === 'duel' ? 'Duel' : 'Quad';
  return `${mode}, ${board.width} by ${board.height}. Round ${board.round}, ${PHASE_WORDS[board.phase]}, tick ${board.tick}. ${players.join(' ')}`;
}

function draw(canvas: HTMLCanvasElement, board: BoardState): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const w = board.width * CELL;
  const h = board.height * CELL;
  ctx.fillStyle = '#0b0e17';
  ctx.fillRect(0, 0, w, h);
  ctx.strokeStyle = 'rgb(255 255 255 / 6%)';
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (let x = 1; x < board.width; x++) {
    ctx.moveTo(x * CELL + 0.5, 0);
    ctx.lineTo(x * CELL + 0.5, h);
  }
  for (let y = 1; y < board.height; y++) {
    ctx.moveTo(0, y * CELL + 0.5);
    ctx.lineTo(w, y * CELL + 0.5);
  }
  ctx.stroke();

  board.trails.forEach((cells, seat) => {
    ctx.fillStyle = SEAT_COLOURS[seat] ?? '#ffffff';
    ctx.globalAlpha = 0.55;
    for (const [x, y] of cells) ctx.fillRect(x * CELL + 2, y * CELL + 2, CELL - 4, CELL - 4);
  });
  ctx.globalAlpha = 1;

  for (const c of board.cycles) {
    const colour = SEAT_COLOURS[c.seat] ?? '#ffffff';
    const x = c.x * CELL;
    const y = c.y * CELL;
    if (c.alive) {
      ctx.shadowColor = colour;
      ctx.shadowBlur = 12;
      ctx.fillStyle = colour;
      ctx.fillRect(x, y, CELL, CELL);
      ctx.shadowBlur = 0;
      ctx.strokeStyle = '#ffffff';
      ctx.lineWidth = 2;
      ctx.strokeRect(x + 1, y + 1, CELL - 2, CELL - 2);
    } else {
      ctx.strokeStyle = colour;
      ctx.lineWidth = 3;
      ctx.beginPath();
      ctx.moveTo(x + 2, y + 2);
      ctx.lineTo(x + CELL - 2, y + CELL - 2);
      ctx.moveTo(x + CELL - 2, y + 2);
      ctx.lineTo(x + 2, y + CELL - 2);
      ctx.stroke();
    }
  }
}

export function Board({ board, mySeat, focusable }: { board: BoardState; mySeat: number | undefined; focusable: boolean }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (canvas.current) draw(canvas.current, board);
  }, [board]);
  // Once the player can steer, the keys go to the board (the button that started the game is gone).
  useEffect(() => {
    if (focusable) canvas.current?.focus();
  }, [focusable]);
  return (
    <canvas
      ref={canvas}
      className="game-board"
      style={{ aspectRatio: `${board.width} / ${board.height}`, maxWidth: `calc((100vh - ${CHROME_PX}px) * ${board.width / board.height})` }}
      width={board.width * CELL}
      height={board.height * CELL}
      role="img"
      aria-label={describeBoard(board, mySeat)}
      tabIndex={focusable ? 0 : undefined}
    />
  );
}
