/**
 * The Light Cycles board: a `<canvas>` (the grid, each seat's trail in its colour, the cycles' heads
 * with a nose where they head, a cross on the eliminated), and the same state in words as its
 * accessible name — round, phase, tick, and each player's score, state and heading. The canvas is
 * drawn on animation frames: between two ticks each head glides from its last cell to its new one
 * (not when the user prefers reduced motion), and the user's own cycle points where the turns sent
 * will take it before the server's tick says so. A swipe on the board steers like an arrow key.
 */
import type { Direction, GamePhase } from '@switchboard/client';
import { useEffect, useRef } from 'react';
import type { Board as BoardState } from './game-store.js';
import { headAt, swipeDirection, TICK_MS } from './motion.js';

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

/** What a frame draws besides the board: the user's seat and where it is shown heading. */
interface Frame {
  elapsed: number;
  reducedMotion: boolean;
  mySeat: number | undefined;
  myHeading: Direction | undefined;
}

/** Draws the nose, a small triangle on the head's leading edge, so a heading shows at a glance. */
function drawNose(ctx: CanvasRenderingContext2D, x: number, y: number, dir: Direction): void {
  const mid = CELL / 2;
  const [ax, ay, bx, by, cx, cy] =
    dir === 'up'
      ? [mid - 5, 5, mid + 5, 5, mid, -3]
      : dir === 'down'
        ? [mid - 5, CELL - 5, mid + 5, CELL - 5, mid, CELL + 3]
        : dir === 'left'
          ? [5, mid - 5, 5, mid + 5, -3, mid]
          : [CELL - 5, mid - 5, CELL - 5, mid + 5, CELL + 3, mid];
  ctx.fillStyle = '#ffffff';
  ctx.beginPath();
  ctx.moveTo(x + ax, y + ay);
  ctx.lineTo(x + bx, y + by);
  ctx.lineTo(x + cx, y + cy);
  ctx.closePath();
  ctx.fill();
}

function draw(canvas: HTMLCanvasElement, board: BoardState, frame: Frame): void {
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

  const heads = board.cycles.map((c) => headAt(board.before.find((b) => b.seat === c.seat), c, frame.elapsed, frame.reducedMotion));
  board.trails.forEach((cells, seat) => {
    ctx.fillStyle = SEAT_COLOURS[seat] ?? '#ffffff';
    ctx.globalAlpha = 0.55;
    // A head still on its way to its new cell: that cell is filled once the head is there.
    const i = board.cycles.findIndex((c) => c.seat === seat);
    const cycle = board.cycles[i];
    const gliding = cycle && (heads[i]?.x !== cycle.x || heads[i]?.y !== cycle.y);
    const shown = gliding ? cells.length - 1 : cells.length;
    for (let n = 0; n < shown; n++) {
      const [x, y] = cells[n] as [number, number];
      ctx.fillRect(x * CELL + 2, y * CELL + 2, CELL - 4, CELL - 4);
    }
  });
  ctx.globalAlpha = 1;

  board.cycles.forEach((c, i) => {
    const colour = SEAT_COLOURS[c.seat] ?? '#ffffff';
    const head = heads[i] ?? c;
    const x = head.x * CELL;
    const y = head.y * CELL;
    if (c.alive) {
      ctx.shadowColor = colour;
      ctx.shadowBlur = 12;
      ctx.fillStyle = colour;
      ctx.fillRect(x, y, CELL, CELL);
      ctx.shadowBlur = 0;
      ctx.strokeStyle = '#ffffff';
      ctx.lineWidth = 2;
      ctx.strokeRect(x + 1, y + 1, CELL - 2, CELL - 2);
      drawNose(ctx, x, y, c.seat === frame.mySeat && frame.myHeading ? frame.myHeading : c.dir);
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
  });
}

const reducedMotionQuery = () => window.matchMedia('(prefers-reduced-motion: reduce)');

export function Board({
  board,
  mySeat,
  focusable,
  heading,
  onSwipe,
}: {
  board: BoardState;
  mySeat: number | undefined;
  focusable: boolean;
  /** Where the user's cycle is shown heading, given the server's heading: asked on every frame. */
  heading?: (serverDir: Direction) => Direction;
  onSwipe?: (toward: Direction) => void;
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const swipe = useRef<{ id: number; x: number; y: number } | undefined>(undefined);
  useEffect(() => {
    const query = reducedMotionQuery();
    let frameId = 0;
    // Only what changed is drawn again: a new tick, a head still on its way, a predicted turn.
    let drawn: { settled: boolean; myHeading: Direction | undefined; reducedMotion: boolean } | undefined;
    const mine = board.cycles.find((c) => c.seat === mySeat);
    const render = () => {
      frameId = requestAnimationFrame(render);
      const reducedMotion = query.matches;
      const elapsed = performance.now() - board.receivedAt;
      const myHeading = mine?.alive && heading ? heading(mine.dir) : undefined;
      const settled = reducedMotion || elapsed >= TICK_MS;
      if (drawn?.settled && settled && drawn.myHeading === myHeading && drawn.reducedMotion === reducedMotion) return;
      if (canvas.current) draw(canvas.current, board, { elapsed, reducedMotion, mySeat, myHeading });
      drawn = { settled, myHeading, reducedMotion };
    };
    render();
    return () => cancelAnimationFrame(frameId);
  }, [board, mySeat, heading]);
  // Once the player can steer, the keys go to the board (the button that started the game is gone).
  useEffect(() => {
    if (focusable) canvas.current?.focus();
  }, [focusable]);
  return (
    <canvas
      ref={canvas}
      className={onSwipe ? 'game-board steerable' : 'game-board'}
      style={{ aspectRatio: `${board.width} / ${board.height}`, maxWidth: `calc((100vh - ${CHROME_PX}px) * ${board.width / board.height})` }}
      width={board.width * CELL}
      height={board.height * CELL}
      role="img"
      aria-label={describeBoard(board, mySeat)}
      tabIndex={focusable ? 0 : undefined}
      onPointerDown={(e) => {
        if (!onSwipe || !e.isPrimary) return;
        swipe.current = { id: e.pointerId, x: e.clientX, y: e.clientY };
      }}
      onPointerUp={(e) => {
        const start = swipe.current;
        swipe.current = undefined;
        if (!onSwipe || start?.id !== e.pointerId) return;
        const toward = swipeDirection(e.clientX - start.x, e.clientY - start.y);
        if (toward) onSwipe(toward);
      }}
      onPointerCancel={() => {
        swipe.current = undefined;
      }}
    />
  );
}
