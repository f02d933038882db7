/** Where a request source resumes: the global position of the last batch fully handled. */
export interface SourceCheckpoint {
  load(): Promise<number>;
  save(position: number): Promise<void>;
}
