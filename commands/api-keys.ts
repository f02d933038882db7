import { createHash, randomBytes } from 'node:crypto';

/** An API key as users hold it: `chitti_<keyId>_<secret>`, keyId 16 hex chars, secret 64 (256 bits). */
export const API_KEY_PATTERN = /^chitti_([a-f0-9]{16})_([a-f0-9]{64})$/;

export const sha256Hex = (value: string): string => createHash('sha256').update(value, 'utf8').digest('hex');
export const newApiKeyId = (): string => randomBytes(8).toString('hex');
export const newApiKeySecret = (): string => randomBytes(32).toString('hex');
export const apiKeyToken = (keyId: string, secret: string): string => `chitti_${keyId}_${secret}`;
