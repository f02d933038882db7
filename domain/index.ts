export * from './acceptance/index.js';
export * from './access/index.js';
export * from './decider.js';
export * from './errors.js';
export * from './file/index.js';
export * from './inspection/index.js';
export * from './model/index.js';
export * from './user/index.js';
