/**
 * The one pixel limit of uploads and inference (`MAX_IMAGE_PIXELS`): an image the upload accepts
 * is an image inference decodes. 10,000 × 10,000 fits. (A module of its own so configuration can
 * read it without loading the image libraries.)
 */
export const DEFAULT_MAX_PIXELS = 100_000_000;
