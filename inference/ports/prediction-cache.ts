/** Reuses a model's output for the same image: key = blob sha256 + model sha256 (+ thresholds). */
export interface PredictionCache<T> {
  get(key: string): Promise<T | undefined>;
  set(key: string, value: T, ttlSeconds: number): Promise<void>;
}
