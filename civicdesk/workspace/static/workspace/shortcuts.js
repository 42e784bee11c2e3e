/* Keyboard shortcuts of the workspace, documented in the "Keyboard shortcuts" dialog.
 *
 * "/" search, "g" then "i" inbox, "r" reply (case page), "?" this help. They are ignored while
 * typing in a field or with Ctrl/Alt/Meta held. Single-key shortcuts can be switched off in the
 * dialog (WCAG 2.1.4): the choice is kept in this browser.
 */
(function () {
  "use strict";

  var STORAGE_KEY = "civicdesk.shortcuts";
  var dialog = document.getElementById("shortcuts-dialog");
  var button = document.getElementById("shortcuts-button");
  var toggle = document.getElementById("shortcuts-enabled");
  var pendingG = 0;

  function enabled() {
    try { return window.localStorage.getItem(STORAGE_KEY) !== "off"; } catch (e) { return true; }
  }

  var opener = null;

  function openHelp() {
    if (!dialog || dialog.open) return;
    opener = document.activeElement;
    dialog.showModal();
  }

  if (dialog) {
    // Give focus back to where it was (or to the main content) rather than leaving it on a
    // control of the closed dialog.
    dialog.addEventListener("close", function () {
      if (!dialog.contains(document.activeElement) && document.activeElement !== document.body) {
        return;
      }
      var back = opener && opener !== document.body && document.contains(opener)
        ? opener : document.getElementById("main");
      if (back) back.focus();
      opener = null;
    });
  }

  if (button && dialog) {
    button.hidden = false;
    button.addEventListener("click", openHelp);
  }
  if (toggle) {
    toggle.checked = enabled();
    toggle.addEventListener("change", function () {
      try { window.localStorage.setItem(STORAGE_KEY, toggle.checked ? "on" : "off"); } catch (e) {}
      if (window.civicdesk && window.civicdesk.announce) {
        window.civicdesk.announce(toggle.checked ? "Shortcuts on" : "Shortcuts off");
      }
    });
  }

  var NOT_TYPED = /^(checkbox|radio|button|submit|reset|file|image|range|color)$/;

  function isTyping(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName.toLowerCase();
    if (tag === "input") return !NOT_TYPED.test(target.type);
    return tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  function focusField(id) {
    var field = document.getElementById(id);
    if (!field) return false;
    field.focus();
    if (field.select && field.type === "search") field.select();
    return true;
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (isTyping(event.target) || (dialog && dialog.open) || !enabled()) return;
    var key = event.key;
    if (pendingG && Date.now() - pendingG < 1500 && key === "i") {
      pendingG = 0;
      event.preventDefault();
      window.location.assign(document.body.dataset.inboxUrl || "/workspace/");
      return;
    }
    pendingG = 0;
    if (key === "g") {
      pendingG = Date.now();
    } else if (key === "/") {
      if (focusField("inbox-search")) event.preventDefault();
    } else if (key === "r") {
      if (focusField("reply-body")) event.preventDefault();
    } else if (key === "?") {
      if (dialog) { event.preventDefault(); openHelp(); }
    }
  });
})();
