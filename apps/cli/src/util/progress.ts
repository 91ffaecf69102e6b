import cliProgress from 'cli-progress';

/**
 * A progress bar on a terminal (cli-progress), or one plain line every `everySeconds` when the
 * output is a file or pipe (background runs logging to a file).
 */
export class Progress {
  private bar: cliProgress.SingleBar | null = null;
  private label = '';
  private lastLine = 0;
  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly everySeconds = 30,
  ) {}

  update(label: string, value: number, total: number, fields: Record<string, string>): void {
    const extras = Object.entries(fields)
      .map(([k, v]) => `${k} ${v}`)
      .join(' | ');
    if (this.stream.isTTY) {
      if (!this.bar || label !== this.label) {
        this.bar?.stop();
        this.bar = new cliProgress.SingleBar(
          { format: `${label} [{bar}] {value}/{total} | {extras} | eta {eta_formatted}`, stream: this.stream, hideCursor: true, etaBuffer: 50 },
          cliProgress.Presets.shades_classic,
        );
        this.bar.start(total, value, { extras });
        this.label = label;
      } else {
        this.bar.update(value, { extras });
      }
      return;
    }
    const now = Date.now();
    if (now - this.lastLine >= this.everySeconds * 1000 || value === total) {
      this.lastLine = now;
      this.stream.write(`${label} ${value}/${total} | ${extras}\n`);
    }
  }

  done(): void {
    this.bar?.stop();
    this.bar = null;
    this.label = '';
  }

  log(msg: string): void {
    this.done();
    this.stream.write(`${msg}\n`);
  }
}
