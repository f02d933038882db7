export * from './acceptance.js';
export * from './access.js';
export * from './file.js';
export * from './inspection.js';
export * from './model.js';
export * from './user.js';
