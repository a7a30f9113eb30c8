/** The longest value quoted in a message; past it the value is cut with "…". */
const MAX_QUOTED = 300

/** A value quoted for a one-line message: JSON-escaped (no raw newlines), cut when long. */
export function quote(value: string): string {
  const cut = value.length > MAX_QUOTED ? `${value.slice(0, MAX_QUOTED)}…` : value
  return JSON.stringify(cut).replace(/[\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`)
}

/**
 * A configuration mistake. `message` is the single line an entry point prints
 * before it exits with code 2, e.g.
 * `OPTIMUM_MESH_MIN="abc" is invalid: expected an integer from 1 to 1000`.
 */
export class ConfigError extends Error {
  constructor(
    message: string,
    /** The environment variable at fault, when there is one. */
    readonly variable?: string,
  ) {
    super(message.replace(/[\r\n\u2028\u2029]+/g, ' '))
    this.name = 'ConfigError'
  }

  /** `NAME="value" is invalid: [reason; ]expected <accepted>` */
  static invalid(variable: string, value: string, accepted: string, reason?: string): ConfigError {
    const why = reason ? `${reason}; ` : ''
    return new ConfigError(`${variable}=${quote(value)} is invalid: ${why}expected ${accepted}`, variable)
  }
}
