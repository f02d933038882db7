import type { CreateAcceptanceProfile } from '../../schemas/commands/acceptance.js';

/**
 * A SAMPLE acceptance profile for the bundled weld-defect model's classes, shaped like an
 * ISO 10675-1 acceptance level (imperfection type → measured quantity → largest value accepted).
 * Its numbers are illustrative, NOT the standard's text or tables: replace them with your own.
 */
export const SAMPLE_PROFILE: CreateAcceptanceProfile = {
  profileId: 'sample-weld-level-2',
  name: 'Sample weld acceptance (level-2 style, illustrative)',
  description:
    'Sample only: not ISO 10675-1 or ISO 5817 text. Illustrative limits for the bundled model classes; cracks and lack of fusion not permitted, pores and linear indications limited in mm.',
  sample: true,
  rules: [
    { id: 'no-cracks', kind: 'not-permitted', classes: ['crack'], description: 'Cracks are not permitted.' },
    {
      id: 'no-lack-of-fusion',
      kind: 'not-permitted',
      classes: ['lack_of_fusion'],
      description: 'Lack of fusion is not permitted.',
    },
    {
      id: 'largest-pore',
      kind: 'max-size',
      classes: ['porosity'],
      maxMm: 3,
      description: 'Largest single pore diameter ≤ 3 mm.',
    },
    {
      id: 'porosity-area',
      kind: 'max-area-percent',
      classes: ['porosity'],
      maxPercent: 1.5,
      description: 'Projected pore area ≤ 1.5 % of the radiograph area.',
    },
    {
      id: 'longest-slag',
      kind: 'max-length',
      classes: ['slag_inclusion'],
      maxMm: 10,
      description: 'Longest slag inclusion ≤ 10 mm.',
    },
    {
      id: 'slag-per-100mm',
      kind: 'max-total-length',
      classes: ['slag_inclusion'],
      maxMm: 25,
      perMm: 100,
      description: 'Total slag length ≤ 25 mm in any 100 mm of weld.',
    },
    {
      id: 'longest-undercut',
      kind: 'max-length',
      classes: ['undercut'],
      maxMm: 25,
      description: 'Longest undercut ≤ 25 mm.',
    },
  ],
};
