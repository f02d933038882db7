/** A small typed client for the Chitti REST API, used by `chitti inspect`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: { title?: string; detail?: string; type?: string } | undefined,
  ) {
    super(`${status} ${problem?.title ?? 'error'}${problem?.detail ? `: ${problem.detail}` : ''}`);
  }
}

export class ChittiClient {
  private accessToken: string | undefined;

  constructor(
    readonly baseUrl: string,
    private readonly apiKey: string,
  ) {}

  async request<T>(
    method: string,
    path: string,
    init: { body?: string | Uint8Array; headers?: Record<string, string> } = {},
  ) {
    if (!this.accessToken) this.accessToken = await this.exchange();
    const response = await fetch(new URL(path, this.baseUrl), {
      method,
      body: init.body ?? null,
      headers: { authorization: `Bearer ${this.accessToken}`, ...init.headers },
    });
    const text = await response.text();
    const body = text ? (JSON.parse(text) as unknown) : undefined;
    if (!response.ok) throw new ApiError(response.status, body as ApiError['problem']);
    return body as T;
  }

  private async exchange(): Promise<string> {
    const response = await fetch(new URL('/auth/token', this.baseUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiKey: this.apiKey }),
    });
    const body = (await response.json()) as { accessToken?: string } & ApiError['problem'];
    if (!response.ok || !body.accessToken) throw new ApiError(response.status, body);
    return body.accessToken;
  }
}
