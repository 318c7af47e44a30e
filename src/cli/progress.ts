import cliProgress from 'cli-progress';
import { LogFormat, defaultLogFormat, redirectTextLogs } from '../log/logger';
import { SyncEvent } from '../sync/sync-events';

/**
 * The live progress display of `submit` at a terminal: the current file's records as a bar, with
 * files, batches, rate and ETA (cli-progress). Only when logs are text and stderr is a TTY; a
 * scheduler gets JSON lines instead, one per batch.
 */
export class ProgressDisplay {
  private readonly bars = new cliProgress.MultiBar(
    {
      // Fits an 80-column terminal; the file's name is in the log line printed above the bar.
      format: '[{bar}] {percentage}% | file {fileNumber}/{files} | batch {batch}/{batches} | {value}/{total} | {rate} rec/s | ETA {eta_formatted}',
      barsize: 12,
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      etaBuffer: 5,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  private bar?: cliProgress.SingleBar;
  private files = 0;
  private fileNumber = 0;
  private batchSize: number;
  /** When the first file started: the rate is of sending, not of JVM start-up. */
  private startedAt?: number;
  private sentThisRun = 0;

  private constructor(batchSize: number) {
    this.batchSize = batchSize;
    redirectTextLogs((text) => this.bars.log(text));
  }

  /** A display when one makes sense (text logs on a terminal), else undefined. */
  static forTerminal(format: LogFormat | undefined, batchSize: number): ProgressDisplay | undefined {
    if ((format ?? defaultLogFormat()) !== 'text' || !process.stderr.isTTY) return undefined;
    return new ProgressDisplay(batchSize);
  }

  /** Takes every event; returns true when it showed it (the caller need not log it). */
  update(e: SyncEvent): boolean {
    switch (e.type) {
      case 'run-planned':
        this.files = e.files;
        return true;
      case 'file-started':
        this.startedAt ??= Date.now();
        this.fileNumber++;
        this.bar?.stop();
        this.bar = this.bars.create(e.totalRecords, e.recordsProcessed, this.payload(e.recordsProcessed, e.totalRecords));
        return false;
      case 'batch-committed':
        this.sentThisRun += e.records;
        this.bar?.update(e.recordsProcessed, this.payload(e.recordsProcessed, e.totalRecords, e.batchIndex + 1));
        return true;
      case 'file-skipped':
        this.fileNumber++;
        return false;
      default:
        return false;
    }
  }

  stop(): void {
    this.bars.stop();
    redirectTextLogs(undefined);
  }

  private payload(done: number, total: number, batch = Math.floor(done / this.batchSize)) {
    const seconds = Math.max((Date.now() - (this.startedAt ?? Date.now())) / 1000, 0.001);
    return {
      fileNumber: this.fileNumber,
      files: this.files || '?',
      batch,
      batches: Math.max(1, Math.ceil(total / this.batchSize)),
      rate: Math.round(this.sentThisRun / seconds).toLocaleString('en-US'),
    };
  }
}
