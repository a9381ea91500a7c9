// Keyboard shortcuts for the segment review page (progressive enhancement: every action is also a
// plain form that works with Tab and Enter, and with JavaScript off). The page lists the shortcuts.
//
//   j or ArrowDown  next segment          k or ArrowUp  previous segment
//   a  accept the focused code suggestion (or the segment's first suggestion)
//   r  reject it                           c  move to its "Recode to" list
//   ?  move to the list of shortcuts
//
// Shortcuts never fire while typing in a field, nor with Ctrl, Alt or Meta held.

const segments = () => Array.from(document.querySelectorAll("[data-segment]"));

let current = null; // the segment last moved to

function isTyping(target) {
  if (!(target instanceof Element)) return false;
  if (target.isContentEditable) return true;
  return Boolean(target.closest("input, select, textarea, [contenteditable]"));
}

function currentSegment() {
  const active = document.activeElement;
  const inside = active instanceof Element ? active.closest("[data-segment]") : null;
  return inside || current || segments()[0] || null;
}

function focusSegment(segment) {
  if (!segment) return;
  current = segment;
  segment.focus();
  segment.scrollIntoView({ block: "start" });
}

function move(step) {
  const list = segments();
  if (!list.length) return;
  // Nothing chosen yet: the first press goes to the first segment, not past it.
  const active = document.activeElement instanceof Element ? document.activeElement.closest("[data-segment]") : null;
  const here = active || current;
  const index = here ? list.indexOf(here) : -1;
  const next = index === -1 ? list[0] : list[Math.min(Math.max(index + step, 0), list.length - 1)];
  focusSegment(next);
}

// The code row a shortcut acts on: the one holding the focus, else the segment's first suggestion.
function currentCode(segment) {
  const active = document.activeElement;
  const row = active instanceof Element ? active.closest("[data-code]") : null;
  if (row && segment && segment.contains(row)) return row;
  if (!segment) return null;
  return segment.querySelector('[data-code][data-status="suggested"]') || segment.querySelector("[data-code]");
}

function press(action) {
  const row = currentCode(currentSegment());
  const button = row ? row.querySelector(`[data-action="${action}"]`) : null;
  if (button) button.click();
}

function focusRecode() {
  const segment = currentSegment();
  const row = currentCode(segment);
  const select = (row && row.querySelector("[data-recode]")) || (segment && segment.querySelector("[data-recode]"));
  if (select) select.focus();
}

function showHelp() {
  const heading = document.getElementById("keyboard-shortcuts-heading");
  if (!heading) return;
  heading.focus();
  heading.scrollIntoView({ block: "start" });
}

const KEYS = {
  j: () => move(1),
  ArrowDown: () => move(1),
  k: () => move(-1),
  ArrowUp: () => move(-1),
  a: () => press("accept"),
  r: () => press("reject"),
  c: focusRecode,
  "?": showHelp,
};

document.addEventListener("keydown", (event) => {
  if (event.defaultPrevented || event.ctrlKey || event.altKey || event.metaKey) return;
  if (isTyping(event.target)) return;
  const handler = KEYS[event.key];
  if (!handler) return;
  event.preventDefault();
  handler();
});

document.addEventListener("focusin", (event) => {
  const segment = event.target instanceof Element ? event.target.closest("[data-segment]") : null;
  if (segment) current = segment;
});

// After a decision the page comes back at "#segment-N": start from that segment.
if (window.location.hash.startsWith("#segment-")) {
  const target = document.getElementById(window.location.hash.slice(1));
  if (target && target.matches("[data-segment]")) current = target;
}
