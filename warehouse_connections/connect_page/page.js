// The page's shell: its elements, which view shows, what is announced. Server text only ever goes in as text.

const VIEWS = ["signin", "configure", "setup", "test", "manage", "edit", "rotate", "rotated"];

/** @param {string} id @returns {HTMLElement} */
export function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`The page has no #${id}.`);
  return element;
}

/**
 * @template {Element} T
 * @param {ParentNode} parent
 * @param {string} selector
 * @param {new () => T} type
 * @returns {T}
 */
export function find(parent, selector, type) {
  const element = parent.querySelector(selector);
  if (!(element instanceof type)) throw new Error(`The page has no ${selector} of the expected kind.`);
  return element;
}

/** @param {string} name @returns {HTMLElement} */
export function view(name) {
  return byId(`view-${name}`);
}

/** @returns {string | null} the view on screen */
export function currentView() {
  return VIEWS.find((name) => !view(name).hidden) ?? null;
}

/**
 * Shows one view, hides the others, and moves focus to its heading so the keyboard and screen readers follow.
 * @param {string} name
 */
export function show(name) {
  byId("loading").hidden = true;
  for (const other of VIEWS) view(other).hidden = other !== name;
  const heading = find(view(name), "h2", HTMLHeadingElement);
  document.title = `${heading.textContent} · Data warehouse`;
  heading.focus();
}

/** @param {string} text said by screen readers (aria-live), once per call even when it repeats */
export function announce(text) {
  const announcer = byId("announcer");
  announcer.textContent = "";
  window.setTimeout(() => {
    announcer.textContent = text;
  }, 50);
}

/** @param {HTMLElement} element @param {string | null | undefined} text shown as text; hidden when empty */
export function message(element, text) {
  element.textContent = text ?? "";
  element.hidden = !text;
}

/** @param {string} name a <meta> the server fills in @returns {string} */
export function meta(name) {
  return find(document.head, `meta[name="${name}"]`, HTMLMetaElement).content;
}
