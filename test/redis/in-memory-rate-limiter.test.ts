import { InMemoryRateLimiter } from '../../infra/rate-limit/in-memory.js';
import { rateLimiterSuite } from './rate-limiter.suite.js';

rateLimiterSuite('in memory', { create: (clock) => new InMemoryRateLimiter(clock) });
