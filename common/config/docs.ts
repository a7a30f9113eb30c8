/** The README table, made from ENV_VARS (common/test/config.test.ts keeps README.md equal to it). */
import { ENV_VARS, type EnvGroup } from './variables.js'

const GROUP_TITLES: Record<EnvGroup, string> = {
  shared: 'Node and proxy',
  node: 'P2P node',
  optimum: 'P2P node, NODE_MODE=optimum',
  gossipsub: 'P2P node, NODE_MODE=gossipsub',
  proxy: 'Proxy',
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/** A markdown table: variable | default | accepted | read by | meaning. */
export function renderEnvTable(): string {
  const rows = ENV_VARS.map((v) =>
    `| \`${v.name}\` | ${v.default === '' ? '(unset)' : `\`${v.default}\``} | ${cell(v.accepted)} | ${GROUP_TITLES[v.group]} | ${cell(v.help)} |`)
  return ['| variable | default | accepted | read by | meaning |', '|---|---|---|---|---|', ...rows].join('\n') + '\n'
}
