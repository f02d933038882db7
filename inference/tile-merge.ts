import { type Candidate, nonMaxSuppression } from './nms.js';
import type { Size, TilePlan, TilePosition } from './tiling.js';

/** Which sides of a box lie on a tile edge inside the image: the defect may go on beyond them. */
export interface CutSides {
  readonly left: boolean;
  readonly top: boolean;
  readonly right: boolean;
  readonly bottom: boolean;
}

export interface TileCandidate extends Candidate {
  readonly cut: CutSides;
}

/** A box side within this many tile pixels of an inner tile edge counts as cut by it. */
export const CUT_EDGE_PX = 3;

/**
 * A tile's boxes (tile-input pixels) in original-image pixels: shifted by the tile origin,
 * divided by the scale, clipped to the image; sides touching an edge the tile shares with a
 * neighbour are marked cut.
 */
export function toImageCandidates(
  candidates: readonly Candidate[],
  tile: TilePosition,
  plan: TilePlan,
  image: Size,
): TileCandidate[] {
  const { tileSize, scaled, scale } = plan;
  const innerLeft = tile.x > 0;
  const innerTop = tile.y > 0;
  const innerRight = tile.x + tileSize.width < scaled.width;
  const innerBottom = tile.y + tileSize.height < scaled.height;
  const x = (v: number) => clamp((v + tile.x) / scale, 0, image.width);
  const y = (v: number) => clamp((v + tile.y) / scale, 0, image.height);
  return candidates.map((c) => ({
    x1: x(c.x1),
    y1: y(c.y1),
    x2: x(c.x2),
    y2: y(c.y2),
    score: c.score,
    classId: c.classId,
    cut: {
      left: innerLeft && c.x1 <= CUT_EDGE_PX,
      top: innerTop && c.y1 <= CUT_EDGE_PX,
      right: innerRight && c.x2 >= tileSize.width - CUT_EDGE_PX,
      bottom: innerBottom && c.y2 >= tileSize.height - CUT_EDGE_PX,
    },
  }));
}

/**
 * Share of the shorter extent two boxes have in common on the axis across the cut, required to
 * join them: pieces of one defect line up across the tile edge, neighbours of the same class
 * usually do not.
 */
export const JOIN_ALIGNMENT = 0.5;

/**
 * One set of boxes from all tiles: pieces of a defect cut by tile edges are joined into one box
 * (same class, overlapping, at least one of them cut on the axis they meet across, and aligned on
 * the other axis), repeatedly, so a crack over three tiles or a pore on a tile corner ends as one
 * box; then class-wise NMS removes the copies a defect inside an overlap leaves in both tiles.
 */
export function mergeTileCandidates(
  candidates: readonly TileCandidate[],
  iouThreshold: number,
  maxDetections: number,
): Candidate[] {
  let boxes = [...candidates].sort(byScore);
  for (let joined = true; joined; ) {
    joined = false;
    const next: TileCandidate[] = [];
    const used = new Array<boolean>(boxes.length).fill(false);
    for (let i = 0; i < boxes.length; i++) {
      if (used[i]) continue;
      let box = boxes[i]!;
      for (let j = i + 1; j < boxes.length; j++) {
        if (used[j] || !belongTogether(box, boxes[j]!)) continue;
        box = union(box, boxes[j]!);
        used[j] = true;
        joined = true;
      }
      next.push(box);
    }
    boxes = next.sort(byScore);
  }
  return nonMaxSuppression(boxes, iouThreshold, maxDetections).map(({ cut: _cut, ...box }) => box);
}

/** Highest score first; ties by position, so the result does not depend on the order tiles finished in. */
const byScore = (a: Candidate, b: Candidate) =>
  b.score - a.score || a.x1 - b.x1 || a.y1 - b.y1 || a.x2 - b.x2 || a.y2 - b.y2 || a.classId - b.classId;

function belongTogether(a: TileCandidate, b: TileCandidate): boolean {
  if (a.classId !== b.classId) return false;
  const overlapX = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const overlapY = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  if (overlapX <= 0 || overlapY <= 0) return false;
  const cutAcrossX = a.cut.left || a.cut.right || b.cut.left || b.cut.right;
  const cutAcrossY = a.cut.top || a.cut.bottom || b.cut.top || b.cut.bottom;
  const alignedY = overlapY / Math.min(a.y2 - a.y1, b.y2 - b.y1) >= JOIN_ALIGNMENT;
  const alignedX = overlapX / Math.min(a.x2 - a.x1, b.x2 - b.x1) >= JOIN_ALIGNMENT;
  return (cutAcrossX && alignedY) || (cutAcrossY && alignedX);
}

function union(a: TileCandidate, b: TileCandidate): TileCandidate {
  // A side of the union is still cut when the box that reaches furthest there was cut there.
  const side = (va: number, vb: number, ca: boolean, cb: boolean, outer: 'min' | 'max') =>
    va === vb ? ca || cb : (outer === 'min' ? va < vb : va > vb) ? ca : cb;
  return {
    x1: Math.min(a.x1, b.x1),
    y1: Math.min(a.y1, b.y1),
    x2: Math.max(a.x2, b.x2),
    y2: Math.max(a.y2, b.y2),
    score: Math.max(a.score, b.score),
    classId: a.classId,
    cut: {
      left: side(a.x1, b.x1, a.cut.left, b.cut.left, 'min'),
      top: side(a.y1, b.y1, a.cut.top, b.cut.top, 'min'),
      right: side(a.x2, b.x2, a.cut.right, b.cut.right, 'max'),
      bottom: side(a.y2, b.y2, a.cut.bottom, b.cut.bottom, 'max'),
    },
  };
}

const clamp = (v: number, low: number, high: number) => Math.min(high, Math.max(low, v));
