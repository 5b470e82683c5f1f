/** Tiny DOM builder: text always goes through text nodes, never innerHTML (chain data is untrusted). */
export type Child = Node | string | number | bigint | null | undefined | false | Child[]
type Attr = string | number | boolean | undefined | ((ev: Event) => void)

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, Attr> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue
    if (typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v)
    else if (v === true) el.setAttribute(k, '')
    else el.setAttribute(k, String(v))
  }
  append(el, children)
  return el
}

export function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue
    if (Array.isArray(c)) append(el, c)
    else el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)))
  }
}

/** Replace the content of `el`. */
export function render(el: Element, ...children: Child[]): void {
  el.replaceChildren()
  append(el, children)
}

export const link = (href: string, text: Child, label?: string) => h('a', { href, 'aria-label': label }, text)

/** A definition table of label → value rows. */
export function fields(rows: Array<[string, Child]>): HTMLElement {
  return h('dl', { class: 'fields' }, ...rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]))
}

export function table(head: string[], rows: Child[][], empty = 'Nothing yet.'): HTMLElement {
  if (rows.length === 0) return h('p', { class: 'empty' }, empty)
  return h(
    'table',
    {},
    h('thead', {}, h('tr', {}, ...head.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((c) => h('td', {}, c))))),
  )
}

export function loading(): HTMLElement {
  return h('p', { class: 'loading', role: 'status' }, 'Loading…')
}

export function errorBox(err: unknown): HTMLElement {
  const message = err instanceof Error ? err.message : String(err)
  return h('p', { class: 'error', role: 'alert' }, message)
}
