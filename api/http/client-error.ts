import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { problemType } from './problem.js';

const ANSWERS: Record<string, { status: number; reason: string; slug: string; title: string }> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    reason: 'Request Header Fields Too Large',
    slug: 'headers-too-large',
    title: 'Request headers too large',
  },
  HPE_URI_OVERFLOW: { status: 414, reason: 'URI Too Long', slug: 'uri-too-long', title: 'URI too long' },
};
const MALFORMED = { status: 400, reason: 'Bad Request', slug: 'malformed-request', title: 'Malformed HTTP request' };

/**
 * Requests Node's HTTP parser refuses never reach express (headers over the size limit, a broken
 * request line or header): they too get problem JSON instead of Node's empty 400, then the
 * connection is closed, as the parser cannot find where the next request would start.
 */
export function answerMalformedRequests(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const answer = (error.code && ANSWERS[error.code]) || MALFORMED;
    const body = JSON.stringify({ type: problemType(answer.slug), title: answer.title, status: answer.status });
    socket.end(
      `HTTP/1.1 ${answer.status} ${answer.reason}\r\nContent-Type: application/problem+json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}
