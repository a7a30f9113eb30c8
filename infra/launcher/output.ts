/** The launcher's terminal: every line prefixed with the service that wrote it, like `docker compose up`. */

const COLORS = [36, 33, 32, 35, 34, 91, 92, 93, 94, 95, 96]

export class Output {
  private width = 5
  private readonly colorOf = new Map<string, number>()

  constructor(
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean } = process.stdout,
    private readonly color = Boolean(out.isTTY) && !process.env.NO_COLOR,
  ) {}

  /** Widens the prefix column to fit every name that will write. */
  register(names: readonly string[]): void {
    for (const name of names) {
      this.width = Math.max(this.width, name.length)
      if (!this.colorOf.has(name)) this.colorOf.set(name, COLORS[this.colorOf.size % COLORS.length]!)
    }
  }

  /** `node-1 | text`. */
  line(name: string, text: string): void {
    const prefix = `${name.padEnd(this.width)} |`
    const code = this.colorOf.get(name)
    this.out.write(`${this.color && code !== undefined ? `\x1b[${code}m${prefix}\x1b[0m` : prefix} ${text}\n`)
  }

  /** The launcher's own words. */
  say(text: string): void {
    this.line('stack', text)
  }

  /** Unprefixed (the endpoint table, the `ready` line). */
  raw(text: string): void {
    this.out.write(`${text}\n`)
  }
}
