"""Accessibility checks of a rendered page, run in the real browser.

Each check returns a list of problems (strings naming the element: its tag, id or test id and a
snippet of its text), empty when the page passes; `check_all` runs them all and the tests assert
the combined list is empty, so a failure names every offender at once.

- **labels**: every form control (input other than hidden/submit/button/reset/image, select,
  textarea) has an accessible name: a `<label for>`, a wrapping `<label>`, `aria-label`,
  `aria-labelledby` pointing at text, or `title`.
- **images**: every `<img>` has an `alt` attribute (empty is allowed: decorative), every
  `role="img"` (an inline SVG chart) and `<input type=image>` a non-empty name.
- **contrast**: for every visible element with text of its own, the text colour against the
  background actually behind it, both taken from the computed style, normalised to sRGB bytes by
  painting them on a canvas (so any CSS colour syntax works), the background composited up the
  ancestor chain over white as far as the first opaque layer. The ratio is WCAG 2's (relative
  luminance, (L1 + 0.05) / (L2 + 0.05)); it must be at least 4.5:1, or 3:1 for large text
  (24 px, or 18.67 px bold: WCAG 1.4.3). Text over a background image is reported, not guessed.
- **landmarks**: one `<main>`, a `<nav>` (but on the login form), a `<header>` (banner), an
  `<h1>`, `<html lang>` and a non-empty `<title>`.
- **keyboard**: no positive `tabindex` (it breaks the reading order), and pressing Tab from the
  top of the page visits every visible interactive element (links, buttons, form controls,
  `summary`, `[tabindex=0]`) once, in document order; the real keys are sent, so focus traps and
  unreachable controls show. Operating controls with Enter and Space is checked by the tests on
  the controls that do something (`press`).
- **axe**: axe-core (vendored, tests/e2e/vendor/axe-core) run on the page with the WCAG 2 A and
  AA rules; each violation is a problem with its rule id and the nodes' selectors.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.remote.webelement import WebElement

AXE_VERSION = "4.14.1"
AXE_JS = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
NORMAL_TEXT_RATIO = 4.5
LARGE_TEXT_RATIO = 3.0
TAB_TRIES = 3

# Names an element for a problem line: tag, id or data-testid, and the start of its text.
_DESCRIBE = """
function describe(el) {
  let s = el.tagName.toLowerCase();
  if (el.id) s += '#' + el.id;
  const tid = el.getAttribute('data-testid');
  if (tid) s += '[data-testid=' + tid + ']';
  const text = (el.innerText || el.value || '').trim().replace(/\\s+/g, ' ').slice(0, 40);
  if (text) s += ' "' + text + '"';
  return s;
}
function visible(el) {
  const r = el.getBoundingClientRect();
  const st = getComputedStyle(el);
  return r.width > 0 && r.height > 0 && st.visibility !== 'hidden' && st.display !== 'none';
}
"""

_LABELS_JS = _DESCRIBE + """
const bad = [];
for (const el of document.querySelectorAll('input, select, textarea')) {
  const type = (el.getAttribute('type') || '').toLowerCase();
  if (['hidden', 'submit', 'button', 'reset', 'image'].includes(type)) continue;
  let name = (el.getAttribute('aria-label') || '').trim() || (el.getAttribute('title') || '').trim();
  const by = el.getAttribute('aria-labelledby');
  if (!name && by) name = by.split(/\\s+/).map(i => document.getElementById(i))
      .filter(x => x).map(x => x.textContent.trim()).join(' ');
  if (!name && el.labels) name = Array.from(el.labels).map(l => l.textContent.trim()).join(' ');
  if (!name) bad.push('form control without a label: ' + describe(el));
}
return bad;
"""

_IMAGES_JS = _DESCRIBE + """
const bad = [];
for (const el of document.querySelectorAll('img')) {
  if (!el.hasAttribute('alt')) bad.push('image without alt: ' + (el.getAttribute('src') || describe(el)));
}
for (const el of document.querySelectorAll('[role=img], input[type=image]')) {
  const by = el.getAttribute('aria-labelledby');
  const name = (el.getAttribute('aria-label') || el.getAttribute('alt') || el.getAttribute('title') || '')
      .trim() || (by ? by.split(/\\s+/).map(i => document.getElementById(i)).filter(x => x)
      .map(x => x.textContent.trim()).join(' ') : '');
  if (!name) bad.push('image role without a name: ' + describe(el));
}
return bad;
"""

# For each visible element with its own text: its colour, the background layers behind it (own
# first), whether an image is among them, and its font size and weight; colours as canvas bytes.
_CONTRAST_JS = _DESCRIBE + """
const canvas = document.createElement('canvas');
canvas.width = canvas.height = 1;
const ctx = canvas.getContext('2d', {willReadFrequently: true});
function rgba(color) {
  ctx.clearRect(0, 0, 1, 1);
  ctx.fillStyle = 'rgba(0, 0, 0, 0)';
  ctx.fillStyle = color;
  ctx.fillRect(0, 0, 1, 1);
  const d = ctx.getImageData(0, 0, 1, 1).data;
  return [d[0], d[1], d[2], d[3] / 255];
}
const out = [];
for (const el of document.body.querySelectorAll('*')) {
  if (['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE', 'OPTION'].includes(el.tagName)) continue;
  const own = Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());
  if (!own || !visible(el)) continue;
  const st = getComputedStyle(el);
  if (parseFloat(st.opacity) === 0) continue;
  const layers = [];
  let image = false;
  for (let a = el; a; a = a.parentElement) {
    const s = getComputedStyle(a);
    if (s.backgroundImage && s.backgroundImage !== 'none') image = true;
    const c = rgba(s.backgroundColor);
    if (c[3] > 0) layers.push(c);
    if (c[3] >= 1) break;
  }
  out.push({what: describe(el), fg: rgba(st.color), layers: layers, image: image,
            size: parseFloat(st.fontSize), weight: parseInt(st.fontWeight, 10) || 400});
}
return out;
"""

_LANDMARKS_JS = """
const nav = arguments[0];
const bad = [];
const mains = document.querySelectorAll('main, [role=main]').length;
if (mains !== 1) bad.push('expected one <main> landmark, found ' + mains);
if (nav && !document.querySelector('nav, [role=navigation]')) bad.push('no <nav> landmark');
if (!document.querySelector('header, [role=banner]')) bad.push('no <header> (banner) landmark');
if (!document.querySelector('h1')) bad.push('no <h1> heading');
if (!(document.documentElement.getAttribute('lang') || '').trim()) bad.push('<html> has no lang');
if (!document.title.trim()) bad.push('empty <title>');
return bad;
"""

# The visible interactive elements in document order, as (names, positive-tabindex offenders);
# with arguments[0] = true, also where the focused element is among them (-1: not one of them,
# null: nothing focused). Recomputed at each step: a live block re-rendered while Tab walks the
# page replaces its elements, and a position is what stays comparable.
_FOCUSABLE_JS = _DESCRIBE + """
const sel = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]';
const found = [];
const names = [];
const positive = [];
for (const el of document.querySelectorAll(sel)) {
  const ti = el.getAttribute('tabindex');
  if (ti !== null && parseInt(ti, 10) > 0) positive.push(describe(el));
  if (el.disabled || (ti !== null && parseInt(ti, 10) < 0) || !visible(el)) continue;
  if (el.closest('[inert], [aria-hidden=true]')) continue;
  found.push(el);
  names.push(describe(el));
}
if (arguments[0]) {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const at = found.indexOf(el);
  return [at, describe(el)];
}
// Tab starts from a sentinel at the top of the body (focusable by script only, not by Tab).
let start = document.getElementById('e2e-tab-start');
if (!start) {
  start = document.createElement('span');
  start.id = 'e2e-tab-start';
  start.tabIndex = -1;
  document.body.insertBefore(start, document.body.firstChild);
}
start.focus();
return [names, positive];
"""


def _script(driver: WebDriver, js: str) -> Any:
    return driver.execute_script(js)


def labels(driver: WebDriver) -> list[str]:
    return list(_script(driver, _LABELS_JS))


def images(driver: WebDriver) -> list[str]:
    return list(_script(driver, _IMAGES_JS))


def landmarks(driver: WebDriver, nav: bool = True) -> list[str]:
    return list(driver.execute_script(_LANDMARKS_JS, nav))


def _luminance(rgb: tuple[float, float, float]) -> float:
    def channel(c: float) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _over(top: tuple[float, float, float, float], bottom: tuple[float, float, float]) -> tuple[float, ...]:
    a = top[3]
    return tuple(top[i] * a + bottom[i] * (1 - a) for i in range(3))


def contrast_ratio(fg: tuple[float, float, float], bg: tuple[float, float, float]) -> float:
    """WCAG 2's contrast ratio of two sRGB colours (0-255 channels): 1 to 21."""
    lighter, darker = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def contrast(driver: WebDriver) -> list[str]:
    bad: list[str] = []
    for item in _script(driver, _CONTRAST_JS):
        if item["image"]:
            bad.append(f"text over a background image, contrast not computable: {item['what']}")
            continue
        bg: tuple[float, ...] = (255.0, 255.0, 255.0)   # the canvas under every page
        for layer in reversed(item["layers"]):
            bg = _over(tuple(layer), bg)  # type: ignore[arg-type]
        fg = _over(tuple(item["fg"]), bg)  # type: ignore[arg-type]
        ratio = contrast_ratio(fg, bg)  # type: ignore[arg-type]
        large = item["size"] >= 24 or (item["size"] >= 18.66 and item["weight"] >= 700)
        need = LARGE_TEXT_RATIO if large else NORMAL_TEXT_RATIO
        if ratio < need:
            bad.append(f"contrast {ratio:.2f}:1 < {need}:1 (text rgb{tuple(round(c) for c in fg)} on "
                       f"rgb{tuple(round(c) for c in bg)}): {item['what']}")
    return bad


def keyboard(driver: WebDriver, limit: int = 200) -> list[str]:
    """Tab through the page with real key presses; every interactive element once, in order."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    found, positive = driver.execute_script(_FOCUSABLE_JS, False)
    bad = [f"positive tabindex breaks the tab order: {p}" for p in positive]
    visited: list[tuple[int, str]] = []
    for _ in range(min(limit, len(found) + 1)):
        ActionChains(driver).send_keys(Keys.TAB).perform()
        active = driver.execute_script(_FOCUSABLE_JS, True)
        if active is None:   # focus left the document: past the last element
            break
        visited.append((int(active[0]), str(active[1])))
    driver.execute_script("const s = document.getElementById('e2e-tab-start'); if (s) s.remove();")
    if [at for at, _name in visited[:len(found)]] != list(range(len(found))):
        got = [name if at >= 0 else f"(not interactive) {name}" for at, name in visited]
        bad.append(f"Tab order differs from the document order: expected {found}, Tab visited {got}")
    return bad


def press(driver: WebDriver, element: WebElement, key: str) -> None:
    """Focus element and press key ('ENTER' or 'SPACE') on it, as a keyboard user would."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    driver.execute_script("arguments[0].focus()", element)
    ActionChains(driver).send_keys(getattr(Keys, key)).perform()


def axe(driver: WebDriver) -> list[str]:
    """axe-core's WCAG 2 A/AA violations on the current page."""
    driver.execute_script(AXE_JS.read_text())
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']},"
        " resultTypes: ['violations']})"
        ".then(r => done(r.violations.map(v => [v.id, v.help, v.nodes.map(n => n.target.join(' '))])))"
        ".catch(e => done([['axe-error', String(e), []]]));")
    return [f"axe {rule}: {text}: {', '.join(nodes[:5])}" for rule, text, nodes in result]


def check_all(driver: WebDriver, *, tab: bool = True, nav: bool = True) -> list[str]:
    """Every check above on the current page (keyboard last: it moves the focus); nav=False for
    a page with nothing to navigate to (the login form). The Tab walk is tried up to
    `TAB_TRIES` times: a live update that adds a row (a new block) while the walk is under way
    shifts the positions once, a page whose order is wrong fails every walk."""
    problems = labels(driver) + images(driver) + landmarks(driver, nav) + contrast(driver) + axe(driver)
    if tab:
        for _ in range(TAB_TRIES):
            walked = keyboard(driver)
            if not walked:
                break
        problems += walked
    return problems
