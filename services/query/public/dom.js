// Building DOM without markup strings: every piece of text goes through a text node, so a quote
// like "<script>…" is shown, never parsed.

/**
 * Creates an element. `props`: `class`, `dataset`, `on<event>` handlers, `href` (only http(s)
 * and same-origin paths become links), other attributes as strings. Children: nodes or text.
 * @param {string} tag
 * @param {Record<string, unknown>} [props]
 * @param {...unknown} children
 * @returns {HTMLElement}
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = String(v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function')
      el.addEventListener(k.slice(2), /** @type {EventListener} */ (v));
    else if (k === 'href') {
      const safe = safeHref(String(v));
      if (safe !== null) el.setAttribute('href', safe);
    } else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

/** @param {Node} el @param {unknown[]} children */
export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Only web links and same-origin paths are followed; `javascript:` and the like never are. */
export function safeHref(href) {
  if (href.startsWith('/') && !href.startsWith('//')) return href;
  try {
    const u = new URL(href);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.toString() : null;
  } catch {
    return null;
  }
}

/** A link when the URL is a web link, else the URL as text (e.g. a urn:). */
export function linkOrText(url, text, props = {}) {
  return safeHref(url) === null
    ? h('span', { class: 'url' }, text ?? url)
    : h('a', { ...props, href: url, rel: 'noopener noreferrer' }, text ?? url);
}

/** Replaces an element's children. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}
