/** LGS's compute layer: pure ladder maths (curves, hull, rungs, recipes, BD-rate, fixed ladders), for the service, the CLI and bench/. */
export { bdQuality, bdRate, type RatePoint } from './bd-rate.js';
export { buildCurves, type CurveSet, type DroppedPoint, type KbpsWindow, type QualityPoint, RateQualityCurve } from './curve.js';
export { APPLE_LADDER, fixedLadderFor, type FixedRung, predictFixedLadder, type PredictedFixedRung } from './fixed-ladder.js';
export { HULL_SAMPLES_PER_CURVE, hullQualityAt, type HullPoint, upperHull } from './hull.js';
export { buildLadder, type LadderInput, resolveConstraints, type ResolvedConstraints } from './ladder.js';
export { Pchip, solveMonotone } from './pchip.js';
export { CHUNK_SECONDS, CRF_GRID, type CrfGrid, type EncoderSettings, GOP_SECONDS, rungRecipe, VBV_BUFFER_SECONDS, VBV_PEAK_RATIO, vbvFor } from './recipe.js';
export { chooseRungs, type RungChoice, type RungConstraints } from './rungs.js';
